"""The tenant's issuer and endpoint URLs (the issuer is always the canonical /t/<slug>/api/v1)."""

from lumoauth.urls_public import base_url

ENDPOINTS = {
    "authorization_endpoint": "oauth/authorize",
    "token_endpoint": "oauth/token",
    "userinfo_endpoint": "oauth/userinfo",
    "jwks_uri": ".well-known/jwks.json",
    "introspection_endpoint": "oauth/introspect",
    "revocation_endpoint": "oauth/revoke",
    "end_session_endpoint": "oauth/logout",
    "registration_endpoint": "oauth/register",
    "pushed_authorization_request_endpoint": "oauth/par",
    "device_authorization_endpoint": "oauth/device_authorization",
    "backchannel_authentication_endpoint": "oauth/bc-authorize",
}


def issuer_for(tenant, request=None) -> str:
    return f"{base_url(request)}/t/{tenant.slug}/api/v1"


def endpoint(tenant, name: str, request=None) -> str:
    return f"{issuer_for(tenant, request)}/{ENDPOINTS[name]}"
