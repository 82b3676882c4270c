"""ID token validation for the relying party (OpenID Connect Core 1.0 §3.1.3.7).

A pure function of the token, the provider's keys and what we expect: testable without HTTP.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError, UnsupportedAlgorithmError
from joserfc.jwk import KeySet

LEEWAY = 60  # seconds of clock skew tolerated on exp and iat
MAX_TOKEN_BYTES = 16 * 1024
ENTRA_TENANT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class IDTokenError(Exception):
    """The ID token must be rejected. `reason` is a short code for the audit log."""

    def __init__(self, reason: str, message: str = "The identity provider's answer could not be verified."):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Expected:
    issuer: str  # exact, or a template holding "{tenantid}" (Entra ID multi-tenant)
    client_id: str
    nonce: str
    algorithms: list[str]
    allowed_tenant_ids: list[str] | None = None


def _key_picker(keys: KeySet) -> Callable:
    def pick(guest):
        kid = guest.headers().get("kid")
        if kid is None and len(keys.keys) == 1:
            return keys.keys[0]  # a provider with one key may leave kid out (RFC 7515 §4.1.4 makes it optional)
        return keys.get_by_kid(kid)  # InvalidKeyIdError when unknown

    return pick


def verify_signature(token: str, keys: KeySet, algorithms: list[str]) -> dict:
    """The claims of a JWS signed by one of `keys` with an allowed algorithm (OIDC Core §3.1.3.7 6-8)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_BYTES:
        raise IDTokenError("id_token_malformed")
    if token.count(".") != 2:
        raise IDTokenError("id_token_malformed")  # a JWE (5 parts) or garbage: we accept signed tokens only
    try:
        decoded = jwt.decode(token, _key_picker(keys), algorithms=algorithms)
    except InvalidKeyIdError as exc:
        raise IDTokenError("id_token_unknown_key") from exc
    except (BadSignatureError, UnsupportedAlgorithmError) as exc:
        raise IDTokenError("id_token_bad_signature") from exc
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise IDTokenError("id_token_malformed") from exc
    if decoded.header.get("alg") not in algorithms:
        raise IDTokenError("id_token_bad_signature")
    if not isinstance(decoded.claims, dict):
        raise IDTokenError("id_token_malformed")
    return decoded.claims


def expected_issuer(template: str, claims: dict, allowed_tenant_ids: list[str] | None) -> str:
    """The issuer the token must name. Entra ID's common/organizations endpoints issue tokens whose
    issuer names the user's own directory: the template's {tenantid} is that token's `tid`, which must
    be a directory id (and one of the allowed ones, when the admin restricted them)."""
    if "{tenantid}" not in template:
        return template
    tid = claims.get("tid")
    if not isinstance(tid, str) or not ENTRA_TENANT_ID.match(tid):
        raise IDTokenError("id_token_wrong_issuer")
    if allowed_tenant_ids and tid not in allowed_tenant_ids:
        raise IDTokenError("id_token_tenant_not_allowed", "Accounts of your organization cannot sign in here.")
    return template.replace("{tenantid}", tid)


def _number(claims: dict, name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IDTokenError(f"id_token_{name}_missing")
    return float(value)


def check_claims(claims: dict, expected: Expected, *, now: float | None = None) -> dict:
    """OIDC Core §3.1.3.7 steps 2-5 and 9-11 (the signature is checked before)."""
    now = time.time() if now is None else now
    # Step 2: the issuer MUST exactly match.
    if claims.get("iss") != expected_issuer(expected.issuer, claims, expected.allowed_tenant_ids):
        raise IDTokenError("id_token_wrong_issuer")
    # Step 3: aud MUST contain our client_id, and no audience we do not trust (we trust no other).
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or audiences != [expected.client_id]:
        if not (isinstance(audiences, list) and expected.client_id in audiences):
            raise IDTokenError("id_token_wrong_audience")
        # Steps 4-5: with several audiences, azp MUST be present and be our client_id.
        if claims.get("azp") != expected.client_id:
            raise IDTokenError("id_token_wrong_audience")
    elif "azp" in claims and claims["azp"] != expected.client_id:
        raise IDTokenError("id_token_wrong_audience")
    # Step 9: the current time MUST be before exp.
    if now >= _number(claims, "exp") + LEEWAY:
        raise IDTokenError("id_token_expired")
    # Step 10: iat tells when it was issued; one from the future is refused.
    if _number(claims, "iat") > now + LEEWAY:
        raise IDTokenError("id_token_issued_in_future")
    # Step 11: the nonce MUST be the one we sent (it binds the token to this browser's request).
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not expected.nonce or nonce != expected.nonce:
        raise IDTokenError("id_token_wrong_nonce")
    # §2: sub is required, at most 255 ASCII characters, unique at the issuer.
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255 or not subject.isascii():
        raise IDTokenError("id_token_no_subject")
    return claims


def validate_id_token(
    token: str, expected: Expected, keys: Callable[[bool], KeySet | None], *, now: float | None = None
) -> dict:
    """The ID token's claims, or IDTokenError. `keys(refresh)` gives the provider's key set; an
    unknown key id makes one refresh (the provider may have rotated its keys)."""
    current = keys(False)
    if current is None:
        raise IDTokenError("jwks_unavailable", "The identity provider's keys could not be fetched.")
    try:
        claims = verify_signature(token, current, expected.algorithms)
    except IDTokenError as exc:
        if exc.reason != "id_token_unknown_key":
            raise
        refreshed = keys(True)
        if refreshed is None:
            raise
        claims = verify_signature(token, refreshed, expected.algorithms)
    return check_claims(claims, expected, now=now)
