"""Well-known providers: their endpoints and defaults, so an admin enters only a client id and secret.

Each preset returns the OIDCConnection fields it decides. Google and Entra ID are OpenID Providers
(ID tokens, JWKS); GitHub is OAuth 2.0 only (oauth/federation/github.py reads its user API).
"""

import re

from django.core.exceptions import ValidationError

from .models import Preset
from .user_claims import DEFAULT_CLAIM_MAPPING

MICROSOFT_LOGIN = "https://login.microsoftonline.com"
# Entra ID's multi-tenant endpoints: the token's issuer names the user's own directory (`tid`).
MICROSOFT_MULTI_TENANT = ("common", "organizations")
MICROSOFT_ISSUER_TEMPLATE = MICROSOFT_LOGIN + "/{tenantid}/v2.0"
DIRECTORY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def google() -> dict:
    return {
        "issuer": "https://accounts.google.com",
        "discovery_url": "https://accounts.google.com/.well-known/openid-configuration",
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
        "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
        "id_token_algorithms": ["RS256"],
        "authorization_response_iss": False,
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": "openid email profile",
        "claim_mapping": dict(DEFAULT_CLAIM_MAPPING) | {"picture": "picture", "locale": "locale"},
        # Google's ID token carries email, email_verified and the profile claims already.
        "use_userinfo": False,
    }


def microsoft(directory: str) -> dict:
    """Entra ID: a single directory (its id, tenant-specific issuer), or "common" / "organizations"
    (any directory; the issuer is validated against the token's `tid`)."""
    directory = (directory or "").strip().lower()
    if directory not in MICROSOFT_MULTI_TENANT and not DIRECTORY_ID.match(directory):
        raise ValidationError(
            {"microsoft_tenant": "Enter the directory (tenant) id, a GUID, or “common” or “organizations”."}
        )
    base = f"{MICROSOFT_LOGIN}/{directory}"
    return {
        "issuer": MICROSOFT_ISSUER_TEMPLATE if directory in MICROSOFT_MULTI_TENANT else f"{base}/v2.0",
        "discovery_url": f"{base}/v2.0/.well-known/openid-configuration",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "id_token_algorithms": ["RS256"],
        "authorization_response_iss": False,
        "token_endpoint_auth_method": "client_secret_post",
        "scopes": "openid email profile",
        # Entra ID sends no email_verified: its email claim is whatever the directory holds, so it
        # never links to an existing account by email (link_verified_email has no effect).
        "claim_mapping": dict(DEFAULT_CLAIM_MAPPING),
        "use_userinfo": False,
    }


def github() -> dict:
    return {
        "issuer": "https://github.com",  # shown only: GitHub issues no ID tokens
        "discovery_url": "",
        "authorization_endpoint": "https://github.com/login/oauth/authorize",
        "token_endpoint": "https://github.com/login/oauth/access_token",
        "userinfo_endpoint": "https://api.github.com/user",
        "jwks_uri": "",
        "id_token_algorithms": [],
        "authorization_response_iss": False,
        "token_endpoint_auth_method": "client_secret_post",
        "scopes": "read:user user:email",
        "claim_mapping": {
            "email": "email",
            "name": "name",
            "preferred_username": "login",
            "picture": "avatar_url",
            "profile": "html_url",
        },
        "use_userinfo": True,
    }


def preset_fields(preset: str, *, microsoft_tenant: str = "") -> dict:
    if preset == Preset.GOOGLE:
        return google()
    if preset == Preset.MICROSOFT:
        return microsoft(microsoft_tenant)
    if preset == Preset.GITHUB:
        return github()
    raise ValidationError({"preset": "Unknown provider."})
