"""Single logout at the tenant's IdP (SAML profiles §4.4), HTTP-Redirect and HTTP-POST: SP-initiated
(below), and IdP-initiated when the tenant's sign-out happens elsewhere (SAMLLogoutChain).

1. A LogoutRequest arrives from an SP. It must be signed (profiles §4.4.4.1: the requester MUST
   authenticate itself) by the certificate of a registered SP. The tenant session ends at once.
2. Every other SP this browser signed in to (`participants`) gets a signed LogoutRequest in turn,
   front channel; its LogoutResponse comes back here.
3. The initiating SP gets a signed LogoutResponse: Success, or PartialLogout if a participant did
   not answer Success.
The state of the round trip lives in the (new, post-logout) session.
"""

from dataclasses import dataclass

from django.http import HttpResponse, HttpResponseRedirect
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, samlp
from saml2.samlp import STATUS_PARTIAL_LOGOUT, STATUS_SUCCESS

from lumoauth.events.api import Outcome, Ref, record

from ..logout_requests import verified_logout_request
from ..models import ServiceProvider
from . import participants
from .server import DIGEST_ALG, SIGN_ALG, idp_server
from .sso import SSOError, peek_issuer

STATE_KEY = "_lumoauth_saml_slo"


@dataclass(frozen=True)
class Reply:
    redirect_to: str | None  # HTTP-Redirect binding
    form_html: str | None  # HTTP-POST binding
    sp: ServiceProvider | None  # None: the end of an IdP-initiated logout


def _binding_for(sp: ServiceProvider, preferred: str) -> tuple[str, str]:
    for endpoint in sp.slo_endpoints:
        if endpoint["binding"] == preferred:
            return endpoint["binding"], endpoint["url"]
    return sp.slo_endpoints[0]["binding"], sp.slo_endpoints[0]["url"]


def _send(server, binding: str, message: str, destination: str, relay_state: str, *, response: bool, sp) -> Reply:
    http_args = server.apply_binding(
        binding,
        message,
        destination,
        relay_state,
        response=response,
        sign=binding == BINDING_HTTP_REDIRECT,
        sigalg=SIGN_ALG,
    )
    if binding == BINDING_HTTP_REDIRECT:
        return Reply(redirect_to=dict(http_args["headers"])["Location"], form_html=None, sp=sp)
    return Reply(redirect_to=None, form_html=http_args["data"], sp=sp)


def _verified_request(tenant, request, params: dict, binding: str):
    message_text = params.get("SAMLRequest", "")
    entity_id = peek_issuer(message_text, binding) if message_text else None
    sp = ServiceProvider.objects.filter(tenant=tenant, entity_id=entity_id, active=True).first() if entity_id else None
    if sp is None or not sp.slo_endpoints or not sp.certificate_pem:
        raise SSOError("This application cannot sign you out here.")
    server = idp_server(tenant, request)
    return server, verified_logout_request(server, params, binding), sp


def start_logout(tenant, request, params: dict, binding: str, end_session) -> Reply:
    """Handle an SP's LogoutRequest: end the session, then log out the other participants."""
    _server, _message, sp = _verified_request(tenant, request, params, binding)
    others = [p for p in participants.take_all(request, tenant) if p["sp"] != sp.pk]
    end_session()  # may give the browser a brand-new session: the state goes in after
    request.session[STATE_KEY] = {
        "tenant": tenant.pk,
        "origin": {k: params.get(k, "") for k in ("SAMLRequest", "RelayState", "SigAlg", "Signature")},
        "origin_binding": binding,
        "remaining": others,
        "outstanding": None,
        "partial": False,
    }
    return _next_step(tenant, request)


def continue_logout(tenant, request, params: dict, binding: str) -> Reply:
    """A participant's LogoutResponse came back: go on with the next one, or finish."""
    state = request.session.get(STATE_KEY)
    if not state or state["tenant"] != tenant.pk or not state.get("outstanding"):
        raise SSOError("No sign-out is in progress.")
    server = idp_server(tenant, request)
    try:
        response = server.parse_logout_request_response(params.get("SAMLResponse", ""), binding)
    except Exception as exc:
        raise SSOError("The application's sign-out answer could not be read.") from exc
    if response is None or response.response.in_response_to != state["outstanding"]:
        raise SSOError("The application's sign-out answer does not match our request.")
    if response.response.status.status_code.value != STATUS_SUCCESS:
        state["partial"] = True
    state["outstanding"] = None
    request.session[STATE_KEY] = state
    return _next_step(tenant, request)


class SAMLLogoutChain:
    """IdP-initiated single logout (SAML profiles §4.4.3) when the tenant's sign-out happens
    elsewhere (tenants.signin.logout_chains): every SP this browser signed in to gets a
    LogoutRequest in turn, then the browser goes on to where the sign-out was headed."""

    def capture(self, request, tenant) -> list[dict]:
        return participants.take_all(request, tenant)

    def start(self, request, tenant, captured: list[dict], return_to: str) -> HttpResponse:
        request.session[STATE_KEY] = {
            "tenant": tenant.pk,
            "origin": None,  # no SP started it: no LogoutResponse to send at the end
            "origin_binding": None,
            "remaining": list(captured),
            "outstanding": None,
            "partial": False,
            "return_to": return_to,
        }
        record("saml.slo.started", tenant=tenant, request=request, details={"initiator": "idp", "sps": len(captured)})
        return reply_response(_next_step(tenant, request))


def reply_response(reply: Reply) -> HttpResponse:
    if reply.redirect_to:
        return HttpResponseRedirect(reply.redirect_to)
    return HttpResponse(reply.form_html)


def _next_step(tenant, request) -> Reply:
    state = request.session[STATE_KEY]
    server = idp_server(tenant, request)
    while state["remaining"]:
        participant = state["remaining"].pop(0)
        sp = ServiceProvider.objects.filter(pk=participant["sp"], tenant=tenant, active=True).first()
        if sp is None or not sp.slo_endpoints:
            state["partial"] = True
            continue
        binding, destination = _binding_for(sp, BINDING_HTTP_REDIRECT)
        request_id, logout_request = server.create_logout_request(
            destination,
            sp.entity_id,
            name_id=participants.as_name_id(participant),
            sign=binding == BINDING_HTTP_POST,
            sign_alg=SIGN_ALG,
            digest_alg=DIGEST_ALG,
        )
        state["outstanding"] = request_id
        request.session[STATE_KEY] = state
        return _send(server, binding, str(logout_request), destination, "", response=False, sp=sp)
    # Everyone answered: reply to the SP that started it, or go on to where the sign-out was headed.
    request.session.pop(STATE_KEY, None)
    if state["origin"] is None:
        record(
            "saml.slo.succeeded",
            tenant=tenant,
            request=request,
            outcome=Outcome.FAILURE if state["partial"] else Outcome.SUCCESS,
            details={"partial": state["partial"], "initiator": "idp"},
        )
        return Reply(redirect_to=state["return_to"], form_html=None, sp=None)
    origin_binding = state["origin_binding"]
    params = {k: v for k, v in state["origin"].items() if v}
    server, message, sp = _verified_request(tenant, request, params, origin_binding)
    # SAML core §3.7.3.2: PartialLogout is a second-level code under Success.
    second = samlp.StatusCode(value=STATUS_PARTIAL_LOGOUT) if state["partial"] else None
    status = samlp.Status(status_code=samlp.StatusCode(value=STATUS_SUCCESS, status_code=second))
    binding, destination = _binding_for(sp, origin_binding)
    record(
        "saml.slo.succeeded",
        tenant=tenant,
        request=request,
        target=Ref("saml_sp", str(sp.pk), sp.entity_id),
        outcome=Outcome.FAILURE if state["partial"] else Outcome.SUCCESS,
        details={"partial": state["partial"]},
    )
    response = server.create_logout_response(
        message, [binding], status=status, sign=binding == BINDING_HTTP_POST, sign_alg=SIGN_ALG, digest_alg=DIGEST_ALG
    )
    return _send(server, binding, str(response), destination, params.get("RelayState", ""), response=True, sp=sp)
