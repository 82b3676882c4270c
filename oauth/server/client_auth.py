"""Client authentication at the token, introspection and revocation endpoints.

Each client authenticates by the one method it registered (`token_endpoint_auth_method`):
client_secret_basic (RFC 6749 §2.3.1), client_secret_post, private_key_jwt (RFC 7523 §2.2,
OIDC Core §9) or none (public clients). Secrets are compared through the keyed hash
(oauth.client_secrets), in constant time.
"""

import base64
import binascii
import json
import time
from urllib.parse import unquote_plus

from django.core.cache import cache
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException

from ..models import AuthMethod
from .jwks_fetch import client_jwks

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ["RS256", "PS256", "ES256"]
MAX_ASSERTION_LIFETIME = 3600  # Authlib and others default to an hour


def _basic_credentials(request) -> tuple[str, str] | None:
    auth = request.headers.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ("", "")
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return ("", "")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote_plus(client_id), unquote_plus(secret)


def presented_credentials(validator, request) -> bool:
    return bool(
        _basic_credentials(request) is not None
        or getattr(request, "client_secret", None)
        or getattr(request, "client_assertion", None)
    )


def authenticate(validator, request) -> bool:
    basic = _basic_credentials(request)
    if basic is not None:
        request.lumo_basic_auth = True
        client_id, secret = basic
        if request.client_id and request.client_id != client_id:
            return False
        return _secret_matches(validator, request, client_id, secret, AuthMethod.CLIENT_SECRET_BASIC)
    assertion_type = getattr(request, "client_assertion_type", None)
    if assertion_type is not None or getattr(request, "client_assertion", None):
        return assertion_type == JWT_BEARER_ASSERTION and _private_key_jwt(validator, request)
    secret = getattr(request, "client_secret", None)
    if request.client_id and secret is not None:
        return _secret_matches(validator, request, request.client_id, secret, AuthMethod.CLIENT_SECRET_POST)
    return False


def _secret_matches(validator, request, client_id: str, secret: str, method: str) -> bool:
    client = validator._load_application(client_id, request)
    if client is None or client.token_endpoint_auth_method != method or not client.client_secret:
        return False
    if not validator._check_secret(secret, client.client_secret):
        return False
    request.client_id = client.client_id
    return True


def _private_key_jwt(validator, request) -> bool:
    """RFC 7523 §3: iss and sub are the client_id, aud names this authorization server, exp is in
    the future, and a jti is never accepted twice."""
    assertion = getattr(request, "client_assertion", None) or ""
    try:
        unverified = jwt.JWT()
        unverified.deserialize(assertion)
        claims = json.loads(unverified.token.objects["payload"])
    except (JWException, ValueError, KeyError, TypeError):
        return False
    client_id = claims.get("sub")
    if not isinstance(client_id, str) or claims.get("iss") != client_id:
        return False
    if request.client_id and request.client_id != client_id:
        return False
    client = validator._load_application(client_id, request)
    if client is None or client.token_endpoint_auth_method != AuthMethod.PRIVATE_KEY_JWT:
        return False
    keys = client_jwks(client)
    if keys is None:
        return False
    try:
        verified = jwt.JWT(jwt=assertion, key=keys, algs=ASSERTION_ALGS, check_claims={"exp": None})
        claims = json.loads(verified.claims)
    except (JWException, ValueError, TypeError, jwk.InvalidJWKValue):
        return False
    issuer = validator.get_oidc_issuer_endpoint(request)
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else (audiences or [])
    if not {issuer, f"{issuer}/oauth/token", request.uri.split("?")[0]} & set(audiences):
        return False
    now = time.time()
    exp, jti = claims.get("exp"), claims.get("jti")
    if not isinstance(exp, (int, float)) or exp <= now or exp > now + MAX_ASSERTION_LIFETIME + 60:
        return False
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        return False
    # Replay: the first use of a jti stores it until the assertion would have expired anyway.
    if not cache.add(f"client-assertion-jti:{client.pk}:{jti}", 1, timeout=int(exp - now) + 60):
        return False
    request.client_id = client.client_id
    return True
