"""Single logout at the tenant's SP, initiated by a connected IdP (SAML profiles §4.4).

The IdP's LogoutRequest (HTTP-Redirect) must be signed by the connection's certificate; the tenant
session of this browser ends; a signed LogoutResponse goes back to the IdP's SingleLogoutService.
"""

from saml2 import BINDING_HTTP_REDIRECT

from ..idp.server import DIGEST_ALG, SIGN_ALG
from ..idp.sso import SSOError, peek_issuer
from ..logout_requests import verified_logout_request
from ..models import IdPConnection
from .client import sp_client


def handle_idp_logout(tenant, request, params: dict, end_session) -> str:
    """The IdP URL to send the browser back to, carrying a signed LogoutResponse."""
    issuer = peek_issuer(params.get("SAMLRequest", ""), BINDING_HTTP_REDIRECT) if params.get("SAMLRequest") else None
    connection = IdPConnection.objects.filter(tenant=tenant, entity_id=issuer, active=True).first() if issuer else None
    if connection is None or not connection.slo_url:
        raise SSOError("This identity provider cannot sign you out here.")
    client = sp_client(tenant, request)
    message = verified_logout_request(client, params, BINDING_HTTP_REDIRECT)
    end_session()
    try:
        response = client.create_logout_response(
            message, [BINDING_HTTP_REDIRECT], sign_alg=SIGN_ALG, digest_alg=DIGEST_ALG
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
