"""The tenant's SAML IdP endpoints: metadata and single sign-on (HTTP-Redirect and HTTP-POST)."""

import secrets
from functools import wraps
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from lumoauth.events.api import Outcome, Ref, record, user_ref
from tenants.routing import tenant_url
from tenants.signin import reauthentication
from tenants.signin.password import sign_out
from tenants.signin.session import authentication_info

from ..credentials import xmlsec_available
from ..same_site import resubmit_cross_site_post
from . import participants
from .server import signed_metadata
from .slo import continue_logout, reply_response, start_logout
from .sso import PendingSSO, SSOError, idp_initiated, read_authn_request, respond

PENDING_KEY = "_lumoauth_saml_pending"
MAX_PENDING = 10


def requires_xmlsec(view):
    """Without xmlsec1 nothing can be signed or verified: say so instead of failing."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not xmlsec_available():
            return render(
                request, "saml/error.html", {"message": "SAML is not available on this server yet."}, status=503
            )
        return view(request, *args, **kwargs)

    return wrapper


def metadata_response(xml: str) -> HttpResponse:
    response = HttpResponse(xml, content_type="application/samlmetadata+xml")
    response["Cache-Control"] = "public, max-age=300"
    return response


@requires_xmlsec
@require_GET
def metadata(request):
    return metadata_response(signed_metadata(request.tenant, request))


def _error(request, message: str, detail: str = ""):
    record("saml.sso.failed", request=request, outcome=Outcome.FAILURE, details={"reason": message, "detail": detail})
    return render(request, "saml/error.html", {"message": message}, status=400)


def _remember(request, pending: PendingSSO) -> str:
    """Keep the validated request in the session while the user signs in."""
    key = secrets.token_urlsafe(12)
    entries = dict(request.session.get(PENDING_KEY, {}))
    while len(entries) >= MAX_PENDING:
        entries.pop(next(iter(entries)))
    entries[key] = pending.__dict__
    request.session[PENDING_KEY] = entries
    return key


def _recall(request, key: str) -> PendingSSO | None:
    entries = dict(request.session.get(PENDING_KEY, {}))
    data = entries.get(key)
    return PendingSSO(**data) if data else None


@requires_xmlsec
@csrf_exempt  # the SP's HTTP-POST binding arrives cross-site; the message is verified instead
@never_cache
@xframe_options_deny
@require_http_methods(["GET", "POST"])
@resubmit_cross_site_post  # the SP's POST arrives without our session cookie: posted again from our page
def sso(request):
    tenant = request.tenant
    params = request.POST if request.method == "POST" else request.GET
    resume = request.GET.get("resume")
    try:
        if resume:
            pending = _recall(request, resume)
            if pending is None:
                raise SSOError("This sign-in request has expired. Start again from the application.")
        elif "SAMLRequest" in params:
            binding = BINDING_HTTP_POST if request.method == "POST" else BINDING_HTTP_REDIRECT
            pending = read_authn_request(tenant, request, params, binding)
        elif "sp" in request.GET:  # IdP-initiated: /saml/idp/sso?sp=<entity id>&RelayState=...
            pending = idp_initiated(tenant, request.GET["sp"], request.GET.get("RelayState", ""))
        else:
            raise SSOError("No SAML request was received.")
    except SSOError as error:
        return _error(request, str(error), repr(error.__cause__) if error.__cause__ else "")

    key = resume or _remember(request, pending)
    info = authentication_info(request, tenant) if request.user.is_authenticated else None
    marker = request.GET.get(reauthentication.MARKER)
    prompt = {"login"} if pending.force_authn else set()
    if reauthentication.must_sign_in(tenant, request.user, info, prompt, None, marker):
        back = f"{request.path}?{urlencode({'resume': key, reauthentication.MARKER: reauthentication.marker(tenant)})}"
        return HttpResponseRedirect(f"{tenant_url(request, 'login')}?{urlencode({'next': back})}")

    try:
        answer = respond(tenant, request, pending, request.user, info["auth_time"])
    except SSOError as error:
        return _error(request, str(error))
    sp = answer.sp
    participants.remember(request, tenant, sp, answer.name_id)
    entries = dict(request.session.get(PENDING_KEY, {}))
    entries.pop(key, None)
    request.session[PENDING_KEY] = entries
    record(
        "saml.sso.succeeded",
        request=request,
        actor=user_ref(request.user),
        target=Ref("saml_sp", str(sp.pk), sp.name or sp.entity_id),
        details={"entity_id": sp.entity_id, "idp_initiated": pending.request_id is None},
    )
    return HttpResponse(answer.form_html)


@requires_xmlsec
@csrf_exempt  # the SP's HTTP-POST binding arrives cross-site; the signed message is verified instead
@never_cache
@require_http_methods(["GET", "POST"])
@resubmit_cross_site_post
def slo(request):
    tenant = request.tenant
    params = request.POST if request.method == "POST" else request.GET
    binding = BINDING_HTTP_POST if request.method == "POST" else BINDING_HTTP_REDIRECT
    try:
        if "SAMLResponse" in params:  # a participant answers our LogoutRequest
            reply = continue_logout(tenant, request, params, binding)
        elif "SAMLRequest" in params:  # an SP starts single logout
            reply = start_logout(tenant, request, params, binding, lambda: sign_out(request, tenant))
            record("saml.slo.started", request=request, target=Ref("saml_sp", str(reply.sp.pk), reply.sp.entity_id))
        else:
            raise SSOError("No SAML sign-out message was received.")
    except SSOError as error:
        return _error(request, str(error), repr(error.__cause__) if error.__cause__ else "")
    return reply_response(reply)
