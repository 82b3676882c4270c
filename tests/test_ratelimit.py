"""The sliding-window limiter itself, on a local-memory cache and on a real Redis, with an injected
clock; how limits are configured (platform defaults, LUMOAUTH_RATE_LIMITS, a tenant's policy)."""

import threading

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.checks import run_checks
from django.core.exceptions import ValidationError

from lumoauth.events.models import AuditEvent
from lumoauth.ratelimit import Rate, SlidingWindowLimiter, check_tenant_rates, parse_rate, tenant_rates
from tenants.policy import TenantPolicy, tenant_policy, update_tenant_policy
from tests.redis_process import redis_server

WINDOW_START = 1_800_000_000.0  # a multiple of 60 (and of 3600): fixed windows start here


class Clock:
    def __init__(self, now: float = WINDOW_START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture(params=["locmem", "redis"])
def store(request):
    if request.param == "locmem":
        cache = LocMemCache(f"ratelimit-test-{id(request)}", {})
    else:
        cache = RedisCache(request.getfixturevalue("redis_url"), {})
    cache.clear()
    yield cache
    cache.clear()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def limiter(store, clock):
    return SlidingWindowLimiter("test", cache=store, clock=clock)


def hits(limiter, key, rate, n) -> list[bool]:
    return [limiter.hit(key, rate).allowed for _ in range(n)]


def test_limit_is_hit_and_recovers(limiter, clock):
    rate = Rate(5, 60)
    assert hits(limiter, "k", rate, 5) == [True] * 5
    refused = limiter.hit("k", rate)
    assert not refused.allowed
    # All 5 in this window: only the next window helps, where they weigh (1 - elapsed) each;
    # one more request fits once 5 * (1 - f) + 1 <= 5, i.e. f >= 0.2: 60 s + 12 s from now.
    assert refused.retry_after == 72
    clock.advance(71)
    assert not limiter.hit("k", rate).allowed
    clock.advance(1)
    assert limiter.hit("k", rate).allowed


def test_refused_requests_do_not_consume_the_budget(limiter, clock):
    """A client that keeps knocking while refused recovers at the time it was told."""
    rate = Rate(3, 10)
    hits(limiter, "k", rate, 3)
    retry_after = limiter.hit("k", rate).retry_after
    for _ in range(50):
        assert not limiter.hit("k", rate).allowed
    clock.advance(retry_after)
    assert limiter.hit("k", rate).allowed


def test_the_window_slides(limiter, clock):
    """Requests late in one window still count early in the next (unlike fixed windows)."""
    rate = Rate(10, 60)
    clock.advance(50)
    assert hits(limiter, "k", rate, 10) == [True] * 10
    clock.advance(20)  # 10 s into the next window: the previous one weighs 10 * 50/60 = 8.3
    assert hits(limiter, "k", rate, 2) == [True, False]
    clock.advance(30)  # 40 s in: 10 * 20/60 = 3.3 + 1 counted here
    assert hits(limiter, "k", rate, 6) == [True] * 5 + [False]


def test_keys_and_rates_are_independent(limiter):
    assert hits(limiter, "a", Rate(2, 60), 3) == [True, True, False]
    assert hits(limiter, "b", Rate(2, 60), 2) == [True, True]
    # The same key under another window length is another counter.
    assert limiter.hit("a", Rate(2, 10)).allowed


def test_peek_count_and_reset(limiter, clock):
    rate = Rate(2, 60)
    assert limiter.peek("k", rate).allowed
    limiter.count("k", rate)
    limiter.count("k", rate)
    decision = limiter.peek("k", rate)
    assert not decision.allowed and decision.retry_after > 0
    assert not limiter.peek("k", rate).allowed  # peeking counts nothing, but does not clear either
    limiter.reset("k", rate)
    assert limiter.peek("k", rate).allowed


def test_first_in_window_is_true_once_per_window(limiter, clock):
    rate = Rate(1, 60)
    assert limiter.first_in_window("k", rate, "audited")
    assert not limiter.first_in_window("k", rate, "audited")
    assert limiter.first_in_window("other", rate, "audited")
    clock.advance(60)
    assert limiter.first_in_window("k", rate, "audited")


def test_concurrent_requests_admit_exactly_the_limit(limiter):
    """Atomic increments: 8 threads racing for 40 slots get exactly 40 between them."""
    rate, allowed, lock = Rate(40, 3600), [], threading.Lock()

    def worker():
        mine = sum(hits(limiter, "shared", rate, 15))
        with lock:
            allowed.append(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 40


# ---- configuration ---------------------------------------------------------------------------------
def test_rates_are_parsed_and_written_canonically():
    assert parse_rate("600/min") == Rate(600, 60)
    assert parse_rate(" 20 / 10s ") == Rate(20, 10)
    assert parse_rate("5000/hour") == Rate(5000, 3600)
    assert parse_rate("100/days") == Rate(100, 86400)
    assert parse_rate("off") is None
    assert [str(Rate(600, 60)), str(Rate(20, 10)), str(Rate(1, 86400))] == ["600/min", "20/10s", "1/day"]
    for bad in ("", "600", "0/min", "10/0s", "10/fortnight", "-1/min", "10/2day", "x/min", "9999999/s"):
        with pytest.raises(ValueError):
            parse_rate(bad)


@pytest.mark.django_db
def test_platform_defaults_environment_and_tenant_policy(settings, tenant, other_tenant):
    assert tenant_rates(tenant)["token"] == Rate(600, 60)
    settings.LUMOAUTH_RATE_LIMITS = {"token": "300/min", "scim": "off"}
    assert tenant_rates(tenant)["token"] == Rate(300, 60)
    assert tenant_rates(tenant)["scim"] is None
    update_tenant_policy(tenant, policy=TenantPolicy(rate_limits={"token": " 20/10S ", "signin": ""}))
    tenant.refresh_from_db()
    assert tenant_policy(tenant).rate_limits == {"token": "20/10s"}  # canonical, blanks dropped
    assert tenant_rates(tenant)["token"] == Rate(20, 10)
    assert tenant_rates(other_tenant)["token"] == Rate(300, 60)  # the other tenant keeps the platform's
    event = AuditEvent.objects.filter(tenant=tenant, action="tenant.updated").latest("id")
    assert event.details["policy"] == ["rate_limits"]


@pytest.mark.django_db
def test_tenant_limits_are_validated(settings, tenant):
    settings.LUMOAUTH_RATE_LIMIT_TENANT_CEILING = 10
    assert check_tenant_rates({"token": "6000/min"}) == {}
    problems = check_tenant_rates({"token": "6001/min", "nope": "1/s", "scim": "off", "signin": "many"})
    assert set(problems) == {"token", "nope", "scim", "signin"}
    for rates in ({"token": "6001/min"}, {"webhooks": "5/min"}, {"scim": "off"}, {"authorize": "1/0s"}):
        with pytest.raises(ValidationError) as caught:
            update_tenant_policy(tenant, policy=TenantPolicy(rate_limits=rates))
        assert "rate_limits" in caught.value.message_dict
    # A scope the platform turned off has no ceiling.
    settings.LUMOAUTH_RATE_LIMITS = {"token": "off"}
    assert check_tenant_rates({"token": "100000/s"}) == {}
    assert not AuditEvent.objects.filter(action="tenant.updated").exists()


def test_invalid_platform_limits_fail_the_system_check(settings):
    settings.LUMOAUTH_RATE_LIMITS = {"token": "lots", "unknown": "1/s"}
    errors = [e for e in run_checks() if e.id == "lumoauth.E011"]
    assert len(errors) == 2
    settings.LUMOAUTH_RATE_LIMITS = {"token": "10/s", "scim": "off"}
    assert not [e for e in run_checks() if e.id == "lumoauth.E011"]
