"""Single logout at the tenant's SP, initiated by a connected IdP (SAML profiles §4.4).

The IdP's LogoutRequest (HTTP-Redirect) must be signed by the connection's certificate; the tenant
session of this browser ends; a signed LogoutResponse goes back to the IdP's SingleLogoutService.
"""

from saml2 import BINDING_HTTP_REDIRECT

from ..idp.server import DIGEST_ALG, SIGN_ALG
from ..idp.sso import SSOError, peek_issuer
from ..models import IdPConnection
from .client import sp_client


def handle_idp_logout(tenant, request, params: dict, end_session) -> str:
    """The IdP URL to send the browser back to, carrying a signed LogoutResponse."""
    message = params.get("SAMLRequest", "")
    issuer = peek_issuer(message, BINDING_HTTP_REDIRECT) if message else None
    connection = IdPConnection.objects.filter(tenant=tenant, entity_id=issuer, active=True).first() if issuer else None
    if connection is None or not connection.slo_url:
        raise SSOError("This identity provider cannot sign you out here.")
    if not params.get("Signature"):
        raise SSOError("The sign-out request is not signed.")
    client = sp_client(tenant, request)
    # pysaml2 enforces signatures on incoming requests only with this switch (see saml/idp/slo.py).
    client.config.setattr("idp", "want_authn_requests_signed", True)
    try:
        parsed = client.parse_logout_request(
            message,
            BINDING_HTTP_REDIRECT,
            relay_state=params.get("RelayState"),
            sigalg=params.get("SigAlg"),
            signature=params.get("Signature"),
        )
    except Exception as exc:  # pysaml2's many error types
        raise SSOError("The sign-out request could not be verified.") from exc
    if parsed is None:
        raise SSOError("The sign-out request could not be verified.")
    end_session()
    try:
        response = client.create_logout_response(
            parsed.message, [BINDING_HTTP_REDIRECT], sign_alg=SIGN_ALG, digest_alg=DIGEST_ALG
        )
        http_args = client.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(response),
            connection.slo_url,
            params.get("RelayState", ""),
            response=True,
            sign=True,
            sigalg=SIGN_ALG,
        )
    except Exception as exc:
        raise SSOError("The sign-out answer could not be built.") from exc
    return dict(http_args["headers"])["Location"]
