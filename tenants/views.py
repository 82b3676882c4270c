"""Hosted sign-in pages of a tenant: sign in, sign out, the account page."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from lumoauth.events.api import user_ref

from .domains import home_realm
from .forms import ChangePasswordForm, SignInForm
from .routing import tenant_url
from .services.users import set_password
from .signin import logout_chains, session
from .signin.password import sign_in_with_password
from .signin.redirects import safe_next


def _login_redirect(request) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{tenant_url(request, 'login')}?{urlencode({'next': request.get_full_path()})}")


@never_cache
def tenant_home(request):
    return HttpResponseRedirect(tenant_url(request, "account"))


def _home_realm(request, identifier, next_url) -> HttpResponseRedirect | None:
    """Home-realm discovery: an email at a domain the tenant verified for one of its connections
    (SAML or OpenID Connect) signs in there, not with a password."""
    if not isinstance(identifier, str) or len(identifier) > 254:
        return None
    connection = home_realm.route(request.tenant, identifier)
    if connection is None:
        return None
    return HttpResponseRedirect(connection.login_url(request, next_url=next_url, login_hint=identifier.strip()))


def _login_page(request, form, next_url, status=200):
    connections = home_realm.connections(request.tenant)
    context = {
        "form": form,
        "buttons": [
            {"name": c.name, "kind": c.kind, "url": c.login_url(request, next_url=next_url)}
            for c in connections
            if c.active and c.show_on_login
        ],
        "email_routing": home_realm.routes_any(request.tenant, connections),
    }
    return render(request, "tenants/login.html", context, status=status)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request):
    tenant = request.tenant
    next_url = safe_next(tenant, request.POST.get("next") or request.GET.get("next"))
    # OIDC login_hint, passed on by the authorization endpoint, fills in the identifier, or goes
    # straight to the connection that serves its domain.
    hint = request.GET.get("login_hint", "")[:254]
    if request.method == "GET" and hint and (routed := _home_realm(request, hint, next_url)):
        return routed
    if request.method == "POST" and (routed := _home_realm(request, request.POST.get("identifier", ""), next_url)):
        return routed  # the password field, if filled in, is not used
    form = SignInForm(request.POST or None, initial={"next": next_url or "", "identifier": hint})
    if request.method == "POST" and form.is_valid():
        result = sign_in_with_password(request, tenant, form.cleaned_data["identifier"], form.cleaned_data["password"])
        if result.user is not None:
            return HttpResponseRedirect(next_url or tenant_url(request, "account"))
        form.add_error(None, result.error)
        response = _login_page(request, form, next_url, status=429 if result.retry_after else 200)
        if result.retry_after:
            response["Retry-After"] = str(result.retry_after)
        return response
    return _login_page(request, form, next_url, status=400 if request.method == "POST" else 200)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def logout_view(request):
    if request.method == "POST":
        # Through the applications signed in to by other protocols (SAML SPs), then to the sign-in page.
        login = tenant_url(request, "login")
        response = logout_chains.sign_out_everywhere(request, request.tenant, login)
        messages.info(request, "You are signed out.")
        return response or HttpResponseRedirect(login)
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
