"""Throttling of wrong user codes (RFC 8628 §5.1: "the authorization server SHOULD ... rate-limit
user code entry"), per signed-in account and per client IP, with the platform's sliding-window
limiter in the shared cache (as the sign-in throttle, tenants/signin/throttle.py)."""

from django.conf import settings

from lumoauth.ratelimit import Rate, SlidingWindowLimiter

failures = SlidingWindowLimiter("device-code-fail")


def _limits(tenant_id: int, user_id: int, ip: str | None) -> list[tuple[str, Rate]]:
    window = settings.LUMOAUTH_SIGNIN_FAILURE_WINDOW
    limits = [(f"acct:{tenant_id}:{user_id}", Rate(settings.LUMOAUTH_DEVICE_CODE_MAX_FAILURES_PER_ACCOUNT, window))]
    if ip:
        limits.append((f"ip:{ip}", Rate(settings.LUMOAUTH_DEVICE_CODE_MAX_FAILURES_PER_IP, window)))
    return limits


def retry_after(tenant_id: int, user_id: int, ip: str | None) -> int:
    """Seconds until another code may be tried; 0 when it may be tried now."""
    return max(failures.peek(key, rate).retry_after for key, rate in _limits(tenant_id, user_id, ip))


def record_failure(tenant_id: int, user_id: int, ip: str | None) -> None:
    for key, rate in _limits(tenant_id, user_id, ip):
        failures.count(key, rate)
