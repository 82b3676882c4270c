"""When a user must sign in again: OIDC prompt=login and max_age (OIDC Core §3.1.2.1), SAML ForceAuthn.

Sending the browser to the sign-in page, we add a signed, timestamped marker to the authorization
URL it will come back to; a sign-in newer than the marker then satisfies the request, so the
round trip cannot loop.
"""

import time
from urllib.parse import parse_qs, urlsplit

from django.core import signing

MARKER = "lumo_reauth"
MARKER_MAX_AGE = 600


def _signer(tenant) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"lumoauth.reauth.{tenant.pk}")


def marker(tenant) -> str:
    return _signer(tenant).sign(str(int(time.time())))


def fresh_since(tenant, value: str | None) -> int | None:
    """The time the marker was issued, if it is ours, for this tenant, and recent."""
    if not value:
        return None
    try:
        return int(_signer(tenant).unsign(value, max_age=MARKER_MAX_AGE))
    except (signing.BadSignature, ValueError):
        return None


def must_sign_in(
    tenant, user, auth_info: dict | None, prompt: set[str], max_age: int | None, marker_value: str | None
) -> bool:
    if not user.is_authenticated or auth_info is None:
        return True
    asked_at = fresh_since(tenant, marker_value)
    if asked_at is not None and auth_info["auth_time"] >= asked_at:
        return False  # the user just signed in for this very request
    if "login" in prompt:
        return True
    return max_age is not None and time.time() - auth_info["auth_time"] > max_age


def asked_in(tenant, next_url: str | None) -> bool:
    """Whether the page the user signs in for demands a fresh sign-in (its URL carries our recent
    marker): a federated sign-in then asks the upstream provider to authenticate again too
    (OIDC prompt=login, SAML ForceAuthn), so an upstream session cannot stand in for it."""
    if not next_url:
        return False
    values = parse_qs(urlsplit(next_url).query).get(MARKER, [])
    return any(fresh_since(tenant, value) is not None for value in values[:1])
