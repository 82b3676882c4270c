"""Hosted sign-in pages of a tenant: sign in, sign out, the account page."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from lumoauth.events.api import user_ref

from .forms import ChangePasswordForm, SignInForm
from .routing import tenant_url
from .services.users import set_password
from .signin import session
from .signin.password import sign_in_with_password, sign_out
from .signin.redirects import safe_next


def _login_redirect(request) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{tenant_url(request, 'login')}?{urlencode({'next': request.get_full_path()})}")


@never_cache
def tenant_home(request):
    return HttpResponseRedirect(tenant_url(request, "account"))


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request):
    tenant = request.tenant
    next_url = safe_next(tenant, request.POST.get("next") or request.GET.get("next"))
    # OIDC login_hint, passed on by the authorization endpoint, fills in the identifier.
    hint = request.GET.get("login_hint", "")[:254]
    form = SignInForm(request.POST or None, initial={"next": next_url or "", "identifier": hint})
    status = 200
    if request.method == "POST" and form.is_valid():
        result = sign_in_with_password(request, tenant, form.cleaned_data["identifier"], form.cleaned_data["password"])
        if result.user is not None:
            return HttpResponseRedirect(next_url or tenant_url(request, "account"))
        form.add_error(None, result.error)
        if result.retry_after:
            status = 429
        response = render(request, "tenants/login.html", {"form": form}, status=status)
        if result.retry_after:
            response["Retry-After"] = str(result.retry_after)
        return response
    return render(request, "tenants/login.html", {"form": form}, status=400 if request.method == "POST" else 200)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def logout_view(request):
    if request.method == "POST":
        sign_out(request, request.tenant)
        messages.info(request, "You are signed out.")
        return HttpResponseRedirect(tenant_url(request, "login"))
    return render(request, "tenants/logout.html")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def account_view(request):
    user = request.user
    if not user.is_authenticated:
        return _login_redirect(request)
    form = ChangePasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        set_password(user, form.cleaned_data["new_password"], actor=user_ref(user), request=request)
        session.refresh_hash(request, request.tenant, user)
        messages.success(request, "Your password was changed.")
        return HttpResponseRedirect(tenant_url(request, "account"))
    groups = user.directory_groups.order_by("name").values_list("name", flat=True)
    return render(
        request,
        "tenants/account.html",
        {"form": form, "account": user, "groups": list(groups)},
        status=400 if request.method == "POST" else 200,
    )
