"""Throttling of failed sign-ins, per account identifier and per client IP, in the cache.

Counters live in the shared cache (Redis in production, local memory otherwise). An identifier is
counted whether or not such an account exists, so the throttle tells nothing about who exists.
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class ThrottleKeys:
    account: str
    ip: str | None


def keys_for(tenant_id: int, identifier: str, ip: str | None) -> ThrottleKeys:
    digest = hashlib.sha256(identifier.strip().casefold().encode()).hexdigest()[:32]
    return ThrottleKeys(
        account=f"signin-fail:acct:{tenant_id}:{digest}",
        ip=f"signin-fail:ip:{ip}" if ip else None,
    )


def _limits(keys: ThrottleKeys) -> list[tuple[str, int]]:
    limits = [(keys.account, settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_ACCOUNT)]
    if keys.ip:
        limits.append((keys.ip, settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_IP))
    return limits


def retry_after(keys: ThrottleKeys) -> int:
    """Seconds until another attempt is allowed; 0 when it is allowed now."""
    wait = 0
    for key, limit in _limits(keys):
        if (cache.get(key) or 0) >= limit:
            started = cache.get(f"{key}:start") or time.time()
            wait = max(wait, int(started + settings.LUMOAUTH_SIGNIN_FAILURE_WINDOW - time.time()) + 1)
    return wait


def record_failure(keys: ThrottleKeys) -> None:
    window = settings.LUMOAUTH_SIGNIN_FAILURE_WINDOW
    for key, _ in _limits(keys):
        if cache.add(key, 0, timeout=window):
            cache.set(f"{key}:start", time.time(), timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def clear_account(keys: ThrottleKeys) -> None:
    """A successful sign-in clears the account's counter (not the IP's)."""
    cache.delete_many([keys.account, f"{keys.account}:start"])
