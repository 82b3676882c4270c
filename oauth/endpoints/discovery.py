"""OpenID Provider metadata (OIDC Discovery 1.0 §3) and RFC 8414 authorization-server metadata,
listing exactly what this server implements; and the tenant's JWKS."""

from django.core.cache import cache
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from tenants.signing_keys.api import jwks, jwks_cache_key, signing_key

from .. import claims, scopes
from ..grants import TOKEN_ENDPOINT_GRANT_TYPES
from ..issuer import ENDPOINTS, issuer_for
from ..services.server_settings import requires_pushed_authorization_requests

METADATA_MAX_AGE = 300
JWKS_MAX_AGE = 300
JWKS_CACHE_SECONDS = 30  # a new "next" key appears within this; it does not sign until rotated in
ASSERTION_ALGS = ["RS256", "PS256", "ES256"]
IMPLEMENTED_ENDPOINTS = [
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "registration_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "end_session_endpoint",
    "pushed_authorization_request_endpoint",
    "device_authorization_endpoint",
    "backchannel_authentication_endpoint",
]


def provider_metadata(tenant, request=None) -> dict:
    issuer = issuer_for(tenant, request)
    auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    document = {"issuer": issuer}
    document.update({name: f"{issuer}/{ENDPOINTS[name]}" for name in IMPLEMENTED_ENDPOINTS})
    document.update(
        {
            "scopes_supported": list(scopes.catalogue(tenant)),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(TOKEN_ENDPOINT_GRANT_TYPES),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [signing_key(tenant).alg],
            "token_endpoint_auth_methods_supported": auth_methods + ["none"],
            "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "introspection_endpoint_auth_methods_supported": auth_methods,
            "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "revocation_endpoint_auth_methods_supported": auth_methods + ["none"],
            "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": claims.SUPPORTED_CLAIMS,
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            # request_uri by reference to any URL (OIDC Core §6.2) is not offered; PAR's are (RFC 9126).
            "request_uri_parameter_supported": False,
            "require_pushed_authorization_requests": requires_pushed_authorization_requests(tenant),
            "authorization_response_iss_parameter_supported": True,
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            # CIBA Core §4: poll and ping; no signed requests, no user_code.
            "backchannel_token_delivery_modes_supported": ["poll", "ping"],
            "backchannel_user_code_parameter_supported": False,
        }
    )
    return document


def _cached_json(key: str, build, max_age: int, ttl: int) -> JsonResponse:
    document = cache.get(key)
    if document is None:
        document = build()
        cache.set(key, document, ttl)
    response = JsonResponse(document)
    response["Cache-Control"] = f"public, max-age={max_age}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def openid_configuration(request):
    tenant = request.tenant
    # The tenant's switches are part of the key: a changed switch shows at once in this process.
    switches = int(requires_pushed_authorization_requests(tenant))
    key = f"oidc-metadata:{tenant.pk}:{switches}:{issuer_for(tenant, request)}"
    return _cached_json(key, lambda: provider_metadata(tenant, request), METADATA_MAX_AGE, METADATA_MAX_AGE)


@require_GET
def jwks_document(request):
    tenant = request.tenant
    return _cached_json(jwks_cache_key(tenant), lambda: jwks(tenant), JWKS_MAX_AGE, JWKS_CACHE_SECONDS)
