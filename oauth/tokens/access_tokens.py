"""Access tokens: JWTs per RFC 9068 or opaque random strings, as each client chooses.

Both kinds are stored (hashed, DOT's RFC 9700 token storage), so both can be introspected and
revoked; a JWT can also be verified offline against the tenant's JWKS.
"""

import secrets
import time
import uuid

from ..models import TokenFormat
from ..server.core import ISSUER_KEY, TENANT_KEY
from .signing import sign

JWT_ACCESS_TOKEN_TYP = "at+jwt"  # RFC 9068 §2.1


def generate_access_token(request) -> str:
    """oauthlib's token_generator: called with the oauthlib request once the grant is validated."""
    client = request.client
    jti = uuid.uuid4().hex
    request.access_token_jti = jti
    if client.token_format != TokenFormat.JWT:
        return secrets.token_urlsafe(32)
    now = int(time.time())
    user = request.user if request.grant_type != "client_credentials" else None
    issuer = request.headers[ISSUER_KEY]
    resources = list(getattr(request, "resource", None) or [])
    # Token exchange (RFC 8693) names its subject when that is not a user, and the delegation chain.
    subject = getattr(request, "lumo_subject", None)
    claims = {
        "iss": issuer,
        # RFC 9068 §2.2: sub is the resource owner, or the client itself when there is none.
        "sub": str(user.sub) if user else (subject or client.client_id),
        "aud": resources[0] if len(resources) == 1 else (resources or issuer),
        "exp": now + int(request.expires_in),
        "iat": now,
        "jti": jti,
        "client_id": client.client_id,
        "scope": " ".join(request.scopes or []),
    }
    auth_time = getattr(request, "auth_time", None)
    if user and auth_time:
        claims["auth_time"] = auth_time
    act = getattr(request, "lumo_act", None)
    if act:
        claims["act"] = act  # RFC 8693 §4.1
    return sign(request.headers[TENANT_KEY], claims, typ=JWT_ACCESS_TOKEN_TYP)
