"""Throttling of failed sign-ins, per account identifier and per client IP, in the cache.

Failures are counted with the platform's sliding-window limiter (lumoauth.ratelimit), so the
counters live in the shared cache (Redis in production, local memory otherwise) and age out the
same way as every other rate limit. An identifier is counted whether or not such an account
exists, so the throttle tells nothing about who exists. This counts failures only; the request
rate limit of the sign-in page (scope "signin") is separate and counts every attempt.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings

from lumoauth.ratelimit import Rate, SlidingWindowLimiter

failures = SlidingWindowLimiter("signin-fail")


@dataclass(frozen=True)
class ThrottleKeys:
    account: str
    ip: str | None


def keys_for(tenant_id: int, identifier: str, ip: str | None) -> ThrottleKeys:
    digest = hashlib.sha256(identifier.strip().casefold().encode()).hexdigest()[:32]
    return ThrottleKeys(account=f"acct:{tenant_id}:{digest}", ip=f"ip:{ip}" if ip else None)


def _limits(keys: ThrottleKeys) -> list[tuple[str, Rate]]:
    window = settings.LUMOAUTH_SIGNIN_FAILURE_WINDOW
    limits = [(keys.account, Rate(settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_ACCOUNT, window))]
    if keys.ip:
        limits.append((keys.ip, Rate(settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_IP, window)))
    return limits


def retry_after(keys: ThrottleKeys) -> int:
    """Seconds until another attempt is allowed; 0 when it is allowed now."""
    return max(failures.peek(key, rate).retry_after for key, rate in _limits(keys))


def record_failure(keys: ThrottleKeys) -> None:
    for key, rate in _limits(keys):
        failures.count(key, rate)


def clear_account(keys: ThrottleKeys) -> None:
    """A successful sign-in clears the account's counter (not the IP's)."""
    key, rate = _limits(keys)[0]
    failures.reset(key, rate)
