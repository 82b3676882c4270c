"""Verifying an incoming LogoutRequest, for the IdP and the SP side alike."""

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from .idp.sso import SSOError


def verified_logout_request(entity, params: dict, binding: str):
    """The LogoutRequest message, verified by `entity` (a pysaml2 Server or Saml2Client that has the
    sender's certificate in its metadata). It must be signed: SAML profiles §4.4.4.1 - the requester
    MUST authenticate itself - with the query signature (HTTP-Redirect) or an enveloped one (POST)."""
    signature = params.get("Signature") if binding == BINDING_HTTP_REDIRECT else None
    if binding == BINDING_HTTP_REDIRECT and not signature:
        raise SSOError("The sign-out request is not signed.")
    # pysaml2 checks the signature of an incoming request only with this switch on (for either role);
    # without it a forged Signature parameter would be ignored.
    entity.config.setattr("idp", "want_authn_requests_signed", True)
    try:
        parsed = entity.parse_logout_request(
            params.get("SAMLRequest", ""),
            binding,
            relay_state=params.get("RelayState"),
            sigalg=params.get("SigAlg"),
            signature=signature,
        )
    except Exception as exc:  # pysaml2's many error types: bad signature, XML, schema
        raise SSOError("The sign-out request could not be verified.") from exc
    if parsed is None or (binding == BINDING_HTTP_POST and parsed.message.signature is None):
        raise SSOError("The sign-out request could not be verified.")
    return parsed.message
