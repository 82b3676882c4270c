"""Who may use the portal: the tenant's administrators, signed in through the tenant's own page."""

from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponseRedirect

from lumoauth.errors import error_response
from tenants.routing import tenant_url


def tenant_admin_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            login = tenant_url(request, "login")
            return HttpResponseRedirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
        if not user.is_tenant_admin:
            # Everyone else learns nothing: the portal does not exist for them.
            return error_response(request, 404)
        return view(request, *args, **kwargs)

    return wrapper
