"""Single logout at the tenant's IdP (SAML profiles §4.4), SP-initiated, HTTP-Redirect and HTTP-POST.

The LogoutRequest must be signed (profiles §4.4.4.1: the requester MUST authenticate itself) by the
certificate of a registered SP; the tenant session of this browser ends; a signed LogoutResponse
goes back to the SP's registered SingleLogoutService.
"""

from dataclasses import dataclass

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from ..models import ServiceProvider
from .server import DIGEST_ALG, SIGN_ALG, idp_server
from .sso import SSOError, peek_issuer


@dataclass(frozen=True)
class LogoutAnswer:
    redirect_to: str | None  # HTTP-Redirect binding
    form_html: str | None  # HTTP-POST binding
    sp: ServiceProvider


def handle_logout_request(tenant, request, params: dict, binding: str, end_session) -> LogoutAnswer:
    message_text = params.get("SAMLRequest", "")
    entity_id = peek_issuer(message_text, binding) if message_text else None
    sp = ServiceProvider.objects.filter(tenant=tenant, entity_id=entity_id, active=True).first() if entity_id else None
    if sp is None or not sp.slo_endpoints or not sp.certificate_pem:
        raise SSOError("This application cannot sign you out here.")
    signature = params.get("Signature") if binding == BINDING_HTTP_REDIRECT else None
    if binding == BINDING_HTTP_REDIRECT and not signature:
        raise SSOError("The sign-out request is not signed.")
    server = idp_server(tenant, request)
    # pysaml2 checks signatures of every request only when this is on; without it a forged
    # Signature parameter would be ignored.
    server.config.setattr("idp", "want_authn_requests_signed", True)
    try:
        parsed = server.parse_logout_request(
            message_text,
            binding,
            relay_state=params.get("RelayState"),
            sigalg=params.get("SigAlg"),
            signature=signature,
        )
    except Exception as exc:  # pysaml2's many error types: bad signature, XML, schema
        raise SSOError("The sign-out request could not be verified.") from exc
    if parsed is None or (binding == BINDING_HTTP_POST and parsed.message.signature is None):
        raise SSOError("The sign-out request could not be verified.")
    end_session()
    reply_binding = (
        binding if any(e["binding"] == binding for e in sp.slo_endpoints) else sp.slo_endpoints[0]["binding"]
    )
    try:
        response = server.create_logout_response(
            parsed.message,
            [reply_binding],
            sign=reply_binding == BINDING_HTTP_POST,
            sign_alg=SIGN_ALG,
            digest_alg=DIGEST_ALG,
        )
        destination = next(e["url"] for e in sp.slo_endpoints if e["binding"] == reply_binding)
        http_args = server.apply_binding(
            reply_binding,
            str(response),
            destination,
            params.get("RelayState", ""),
            response=True,
            sign=reply_binding == BINDING_HTTP_REDIRECT,
            sigalg=SIGN_ALG,
        )
    except Exception as exc:
        raise SSOError("The sign-out answer could not be built.") from exc
    if reply_binding == BINDING_HTTP_REDIRECT:
        return LogoutAnswer(redirect_to=dict(http_args["headers"])["Location"], form_html=None, sp=sp)
    return LogoutAnswer(redirect_to=None, form_html=http_args["data"], sp=sp)
