"""How a tenant's signing keys are doing, in one small dict (the portal dashboard shows it)."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from lumoauth.encryption import KeyDecryptionError

from .models import SigningKey
from .service import published_keys, signing_key

ROTATE_AFTER = timedelta(days=90)  # an active key older than this should be rotated
# A next key published for less than this may not be in relying parties' cached JWKS yet
# (docs/signing-keys.md: rotate again only once their caches have refreshed).
NEXT_KEY_WARM_UP = timedelta(hours=1)


def key_health(tenant, *, now: datetime | None = None) -> dict[str, Any]:
    """{"active_kid", "active_alg", "active_age_days", "next_kid", "next_ready", "status", "message"}.

    status is "warning" when the active key is older than ROTATE_AFTER, when there is no next key,
    or when the active private key cannot be decrypted (wrong key-encryption key); else "ok".
    next_ready says whether rotating now is safe: the next key has been published long enough.
    """
    now = now or timezone.now()
    keys = published_keys(tenant)  # creates the keys of a tenant that has none
    active = next((key for key in keys if key.state_at(now) == SigningKey.State.ACTIVE), None)
    upcoming = next((key for key in keys if key.state_at(now) == SigningKey.State.NEXT), None)
    if active is None:  # only if `now` is past the active key's unpublication
        return {
            "active_kid": None,
            "active_alg": None,
            "active_age_days": None,
            "next_kid": upcoming.kid if upcoming else None,
            "next_ready": False,
            "status": "warning",
            "message": "No key is active: rotate the keys.",
        }
    age_days = (now - active.activated_at).days
    next_ready = upcoming is not None and now - upcoming.created_at >= NEXT_KEY_WARM_UP
    status, message = "ok", f"The {active.alg} key {active.kid} has signed for {age_days} days."
    try:
        signing_key(tenant)
    except KeyDecryptionError:
        status = "warning"
        message = f"The active key {active.kid} cannot be decrypted: check LUMOAUTH_KEY_ENCRYPTION_KEY, then rotate."
    else:
        if upcoming is None:
            status, message = "warning", "No next key is published: rotate the keys to publish one."
        elif age_days >= ROTATE_AFTER.days:
            status, message = "warning", f"The active key is {age_days} days old: rotate the keys."
        elif not next_ready:
            message += " The next key was published less than an hour ago: wait before rotating."
    return {
        "active_kid": active.kid,
        "active_alg": active.alg,
        "active_age_days": age_days,
        "next_kid": upcoming.kid if upcoming else None,
        "next_ready": next_ready,
        "status": status,
        "message": message,
    }
