"""The user-code page (RFC 8628 §3.3): a signed-in person enters the code shown by a device, sees
which app asks for what, and approves or denies. Wrong codes are throttled per account and IP."""

from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from lumoauth.events.api import Outcome, Ref, client_ip, record
from tenants.routing import tenant_url
from tenants.signin.session import authentication_info

from .. import scopes as scope_catalogue
from ..device import authorizations, throttle, user_codes

WRONG_CODE = "That code is not valid or has expired. Check the code on your device and try again."
THROTTLED = "Too many wrong codes. Please wait a few minutes and try again."


def _page(request, template: str, context: dict | None = None, status: int = 200):
    response = render(request, template, context or {}, status=status)
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def device_view(request):
    tenant, user = request.tenant, request.user
    if not user.is_authenticated:
        # Sign in first, so wrong codes are counted against an account as well as an address.
        return HttpResponseRedirect(f"{tenant_url(request, 'login')}?{urlencode({'next': request.get_full_path()})}")
    if request.method == "GET":
        typed = request.GET.get("user_code", "")[: user_codes.MAX_TYPED_LENGTH]
        return _page(request, "oauth/device.html", {"user_code": typed})

    typed = request.POST.get("user_code", "")[: user_codes.MAX_TYPED_LENGTH]
    ip = client_ip(request)
    wait = throttle.retry_after(tenant.pk, user.pk, ip)
    if wait:
        _record_wrong_code(request, typed, Outcome.DENIED, "throttled")
        response = _page(request, "oauth/device.html", {"user_code": typed, "error": THROTTLED}, status=429)
        response["Retry-After"] = str(wait)
        return response
    code = user_codes.normalise(typed)
    grant = authorizations.pending(tenant, code) if code else None
    client = authorizations.client_of(grant) if grant else None
    if grant is None or client is None:
        throttle.record_failure(tenant.pk, user.pk, ip)
        _record_wrong_code(request, typed, Outcome.FAILURE, "unknown_or_expired")
        return _page(request, "oauth/device.html", {"user_code": typed, "error": WRONG_CODE}, status=400)

    decision = request.POST.get("decision")
    if decision not in ("allow", "deny"):
        # RFC 8628 §5.4: the person sees the code again and which app asks, before deciding.
        context = {
            "client": client,
            "user_code": user_codes.display(code),
            "scopes": scope_catalogue.describe(tenant, grant.scope.split()),
            "account": user,
        }
        return _page(request, "oauth/device_confirm.html", context)
    allow = decision == "allow"
    auth_info = authentication_info(request, tenant)
    if not authorizations.decide(grant, user, allow=allow, auth_info=auth_info, request=request):
        return _page(request, "oauth/device.html", {"user_code": typed, "error": WRONG_CODE}, status=400)
    return _page(request, "oauth/device_done.html", {"client": client, "allowed": allow})


def _record_wrong_code(request, typed: str, outcome: str, reason: str) -> None:
    record(
        "oauth.device.user_code_failed",
        request=request,
        outcome=outcome,
        target=Ref("user_code", "", typed[:32]),
        details={"reason": reason},
    )
