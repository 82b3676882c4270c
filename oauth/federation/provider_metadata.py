"""An OpenID Provider's configuration from its discovery document (OpenID Connect Discovery 1.0 §4)."""

from dataclasses import dataclass

from .provider_http import ProviderError, get_json, is_secure_endpoint

WELL_KNOWN = "/.well-known/openid-configuration"
# ID token signatures we accept: asymmetric only. "none" and the HMAC algorithms (keyed with the
# client secret, which the provider's other clients do not share but the provider's staff do) never.
SUPPORTED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    id_token_algorithms: list[str]
    authorization_response_iss: bool
    token_endpoint_auth_method: str


def discovery_location(issuer_or_url: str) -> tuple[str, str]:
    """(discovery URL, expected issuer) for an issuer or a discovery URL as an admin pastes it."""
    value = issuer_or_url.strip()
    if value.endswith(WELL_KNOWN):
        return value, value[: -len(WELL_KNOWN)]
    # OIDC Discovery §4: the path is appended to the issuer, after removing a trailing slash.
    return value.rstrip("/") + WELL_KNOWN, value


def _endpoint(document: dict, name: str, *, required: bool) -> str:
    value = document.get(name)
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or len(value) > 2048 or not is_secure_endpoint(value):
        raise ProviderError("discovery_invalid", f"The discovery document's {name} is missing or not an https URL.")
    return value


def parse_metadata(document: dict, expected_issuer: str) -> ProviderMetadata:
    issuer = document.get("issuer")
    # OIDC Discovery §4.3: the issuer in the document MUST be identical to the one it was fetched for.
    if issuer != expected_issuer and issuer != expected_issuer.rstrip("/"):
        raise ProviderError("discovery_issuer_mismatch", f"The discovery document names another issuer ({issuer!r}).")
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in SUPPORTED_ALGORITHMS if isinstance(offered, list) and a in offered]
    if not algorithms:
        raise ProviderError("discovery_algorithms", "The provider signs ID tokens with no algorithm we accept.")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        auth_method = "client_secret_basic"
    elif "client_secret_post" in methods:
        auth_method = "client_secret_post"
    else:
        raise ProviderError("discovery_auth_methods", "The provider accepts no client authentication we can use.")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(document, "authorization_endpoint", required=True),
        token_endpoint=_endpoint(document, "token_endpoint", required=True),
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
        jwks_uri=_endpoint(document, "jwks_uri", required=True),
        id_token_algorithms=algorithms,
        authorization_response_iss=document.get("authorization_response_iss_parameter_supported") is True,
        token_endpoint_auth_method=auth_method,
    )


def discover(issuer_or_url: str) -> ProviderMetadata:
    """Fetch and check the provider's discovery document."""
    url, expected_issuer = discovery_location(issuer_or_url)
    if not is_secure_endpoint(url):
        raise ProviderError("discovery_insecure", "Use the provider's https issuer URL.")
    return parse_metadata(get_json(url, "discovery"), expected_issuer)
