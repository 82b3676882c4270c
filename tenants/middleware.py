"""Resolve the tenant from the URL once, and make request.user that tenant's signed-in user."""

from django.utils.functional import SimpleLazyObject

from lumoauth.errors import error_response

from .lookup import active_tenant
from .signin.session import session_user

TENANT_URL_KWARG = "tenant_slug"


class TenantMiddleware:
    """Every tenant URL pattern captures `tenant_slug` (under /t/<slug>/ or /orgs/<slug>/).

    The slug is removed from the view's kwargs and replaced by `request.tenant`; an unknown or
    suspended tenant answers 404 before any view runs, the same answer for both so nothing tells
    them apart. On tenant URLs `request.user` is the user signed in to that tenant, or anonymous.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.pop(TENANT_URL_KWARG, None)
        if slug is None:
            return None
        tenant = active_tenant(slug)
        if tenant is None:
            return error_response(request, 404, "No such organization.")
        request.tenant = tenant
        request.user = SimpleLazyObject(lambda: session_user(request, tenant))
        return None
