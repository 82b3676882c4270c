"""Rate limits: a sliding-window counter on Django's cache, applied per tenant by route name.

The limiter is the "sliding window counter": two adjacent fixed windows, the previous one weighted
by how much of it still overlaps the sliding window. It needs two counters per key, and each
request costs one atomic increment (`cache.incr`, after `cache.add` creates the counter), so it is
exact enough and safe under concurrency on both caches we run on: Redis (shared by every process)
when REDIS_URL is set, local memory (per process) otherwise - one code path.

`RateLimitMiddleware` maps a request's route name to a scope (token, introspection, authorize,
signin, registration, scim), keys the counter by tenant + client id / SCIM token / client IP, and
answers 429 with Retry-After (RFC 6585 §4) in the protocol's own error format. A tripped limit is
audited as `rate_limit.exceeded` at most once per window per key. Limits: platform defaults below,
overridden by LUMOAUTH_RATE_LIMITS (JSON) and per tenant by its policy (docs/rate-limits.md).
"""

import base64
import hashlib
import ipaddress
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.module_loading import import_string

from lumoauth.events.api import ANONYMOUS, Outcome, Ref, client_ip, record
from lumoauth.observability import metrics

logger = logging.getLogger(__name__)

UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
UNITS |= {"d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{0,5})\s*([a-z]+?)s?\s*$")
_NAMES = {1: "s", 60: "min", 3600: "h", 86400: "day"}
MAX_REQUESTS, MAX_WINDOW = 1_000_000, 86400
OFF = "off"


@dataclass(frozen=True)
class Rate:
    """`requests` per `window` seconds; written "600/min", "20/10s", "5000/h", "100/day"."""

    requests: int
    window: int

    def __str__(self) -> str:
        unit = _NAMES.get(self.window)
        return f"{self.requests}/{unit}" if unit else f"{self.requests}/{self.window}s"


@lru_cache(maxsize=256)
def parse_rate(text: str) -> Rate | None:
    """A Rate from its text, None for "off"; ValueError for anything else."""
    if str(text).strip().lower() == OFF:
        return None
    match = _RATE.match(str(text).lower())
    if not match or match.group(3) not in UNITS:
        raise ValueError(f'"{text}" is not a rate such as 600/min, 20/10s or 5000/h.')
    requests, window = int(match.group(1)), int(match.group(2) or 1) * UNITS[match.group(3)]
    if not (1 <= requests <= MAX_REQUESTS and 1 <= window <= MAX_WINDOW):
        raise ValueError(f"A rate allows 1 to {MAX_REQUESTS} requests in 1 second to 1 day.")
    return Rate(requests, window)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until a request would be allowed again; 0 when allowed
    window_index: int


class SlidingWindowLimiter:
    """Counters in a Django cache (default: the "default" alias); `clock` is injectable for tests."""

    def __init__(self, prefix: str, cache=None, clock: Callable[[], float] = time.time):
        self.prefix, self.cache, self.clock = prefix, cache, clock

    @property
    def store(self):
        return self.cache if self.cache is not None else caches["default"]

    def hit(self, key: str, rate: Rate) -> Decision:
        """Count one request; refused requests are given back, so a client that keeps knocking
        recovers as soon as its rate falls under the limit."""
        now = self.clock()
        index, current_key, previous_key = self._keys(key, rate, now)
        current = self._increment(current_key, rate.window)
        decision = self._decide(rate, now, index, self.store.get(previous_key) or 0, current)
        if not decision.allowed:
            try:
                self.store.decr(current_key)
            except ValueError:  # expired meanwhile: nothing to give back
                pass
        return decision

    def count(self, key: str, rate: Rate) -> None:
        """Count an event without deciding anything (e.g. a failed sign-in)."""
        _index, current_key, _previous = self._keys(key, rate, self.clock())
        self._increment(current_key, rate.window)

    def peek(self, key: str, rate: Rate) -> Decision:
        """Would one more request be allowed now? Counts nothing."""
        now = self.clock()
        index, current_key, previous_key = self._keys(key, rate, now)
        counts = self.store.get_many([current_key, previous_key])
        return self._decide(rate, now, index, counts.get(previous_key) or 0, (counts.get(current_key) or 0) + 1)

    def reset(self, key: str, rate: Rate) -> None:
        _index, current_key, previous_key = self._keys(key, rate, self.clock())
        self.store.delete_many([current_key, previous_key])

    def first_in_window(self, key: str, rate: Rate, what: str) -> bool:
        """True once per key, `what` and fixed window (e.g. to audit a refusal once per window)."""
        index = int(self.clock() // rate.window)
        return self.store.add(f"{self.prefix}:{rate.window}:{key}:{what}:{index}", 1, timeout=rate.window)

    def _keys(self, key: str, rate: Rate, now: float) -> tuple[int, str, str]:
        index = int(now // rate.window)
        base = f"{self.prefix}:{rate.window}:{key}"
        return index, f"{base}:{index}", f"{base}:{index - 1}"

    def _increment(self, counter: str, window: int) -> int:
        # A window's counter is read as "previous" during the next window: keep it 2 windows.
        try:
            return self.store.incr(counter)
        except ValueError:  # no counter yet (or it just expired)
            if self.store.add(counter, 1, timeout=2 * window):
                return 1
            return self.store.incr(counter)

    @staticmethod
    def _decide(rate: Rate, now: float, index: int, previous: int, current: int) -> Decision:
        """`current` includes the request being decided."""
        elapsed = (now - index * rate.window) / rate.window  # fraction of the current fixed window gone by
        if previous * (1 - elapsed) + current <= rate.requests + 1e-9:  # (float dust must not refuse)
            return Decision(True, 0, index)
        limit, before = rate.requests, current - 1
        if before + 1 <= limit:  # the previous window's weight must fade a little more
            wait = 1 - (limit - before - 1) / previous - elapsed
        else:  # only the next window helps; there this window's count is the weighted one
            wait = (1 - elapsed) + (max(0.0, 1 - (limit - 1) / before) if before > 0 else 0.0)
        return Decision(False, max(1, math.ceil(wait * rate.window - 1e-6)), index)


limiter = SlidingWindowLimiter("rl")


# ---- what is limited, keyed how, answered how ------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    name: str
    label: str  # for people (portal, docs)
    routes: frozenset[str]  # URL names (namespace-free: /t/ and /orgs/ share one budget)
    subject: str  # "client", "ip" or "token"
    answer: str  # "oauth", "scim" or "html"
    default: str
    methods: frozenset[str] | None = None  # None: every method
    route_prefix: str = ""  # also any route under this path (SCIM has unnamed routes)


SCOPES = {
    scope.name: scope
    for scope in (
        # PAR (RFC 9126), device authorization (RFC 8628 §3.1) and CIBA's backchannel authentication
        # (CIBA Core §7) are client back-channel calls too.
        Scope(
            "token",
            "Token endpoint (and PAR, device and backchannel authorization), per client",
            frozenset({"token", "par", "device-authorization", "backchannel-authentication"}),
            "client",
            "oauth",
            "600/min",
        ),
        Scope("introspection", "Introspection, per client", frozenset({"introspect"}), "client", "oauth", "1200/min"),
        Scope("authorize", "Authorization endpoint, per IP", frozenset({"authorize"}), "ip", "html", "120/min"),
        # RFC 8628 §5.1: user codes are short, so their entry is rate limited like passwords.
        Scope(
            "signin",
            "Sign-in and device-code attempts, per IP",
            frozenset({"login", "device"}),
            "ip",
            "html",
            "60/min",
            frozenset({"POST"}),
        ),
        # Federated sign-in starts and returns with GETs: limited per IP like the password page.
        Scope(
            "federation",
            "Federated sign-in (OpenID Connect start and callback), per IP",
            frozenset({"federation-oidc-login", "federation-oidc-callback"}),
            "ip",
            "html",
            "60/min",
        ),
        Scope(
            "registration",
            "Client registration, per IP",
            frozenset({"register", "client-configuration"}),
            "ip",
            "oauth",
            "30/min",
        ),
        Scope("scim", "SCIM, per token", frozenset(), "token", "scim", "1200/min", route_prefix="scim/v2/"),
    )
}


def label(scope: str) -> str:
    return SCOPES[scope].label if scope in SCOPES else scope


def platform_rates() -> dict[str, Rate | None]:
    """Defaults above, overridden by settings.LUMOAUTH_RATE_LIMITS: {"token": "300/min", "scim": "off"};
    "*" stands for every scope not named ({"*": "off"} turns rate limiting off, e.g. for benchmarks)."""
    configured = getattr(settings, "LUMOAUTH_RATE_LIMITS", None) or {}
    return {
        name: parse_rate(str(configured.get(name, configured.get("*", scope.default))))
        for name, scope in SCOPES.items()
    }


def check_tenant_rates(rates: dict[str, str]) -> dict[str, str]:
    """Problems with a tenant's overrides, by scope: unknown scope, not a rate, or above the
    platform default times LUMOAUTH_RATE_LIMIT_TENANT_CEILING (tenants may tighten freely)."""
    problems, platform = {}, platform_rates()
    factor = getattr(settings, "LUMOAUTH_RATE_LIMIT_TENANT_CEILING", 10)
    for name, text in rates.items():
        if name not in SCOPES:
            problems[name] = f"Unknown rate limit: {name}."
            continue
        try:
            rate = parse_rate(str(text))
        except ValueError as exc:
            problems[name] = str(exc)
            continue
        default = platform[name]
        if rate is None:
            problems[name] = "An organization cannot turn a rate limit off."
        elif default is not None and rate.requests / rate.window > factor * default.requests / default.window:
            problems[name] = f"At most {factor} times the platform's {default}."
    return problems


def tenant_rates(tenant) -> dict[str, Rate | None]:
    rates = platform_rates()
    overrides = import_string(settings.LUMOAUTH_TENANT_RATE_LIMITS)(tenant) if tenant is not None else {}
    for name, text in overrides.items():
        if name in rates:
            try:
                rates[name] = parse_rate(str(text))
            except ValueError:  # validated when saved; a stale value falls back to the default
                logger.warning("ignoring invalid rate limit %r for %s", text, name)
    return rates


def scope_for(request) -> Scope | None:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    for scope in SCOPES.values():
        if scope.methods is not None and request.method not in scope.methods:
            continue
        if match.url_name in scope.routes or (scope.route_prefix and f"/{scope.route_prefix}" in match.route):
            return scope
    return None


def subject_of(request, scope: Scope) -> tuple[str, str]:
    """(kind, value) the counter is keyed by. Client ids and tokens are taken as presented, not
    authenticated: the limit runs before any credential check (it protects the check itself)."""
    if scope.subject == "client":
        client_id = _basic_username(request) or _form_client_id(request)
        if client_id:
            return "client", client_id[:200]
    elif scope.subject == "token":
        kind, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if kind.lower() == "bearer" and token.strip():
            return "token", token.strip()
    return "ip", _ip_bucket(client_ip(request))


def _basic_username(request) -> str:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:  # RFC 6749 §2.3.1: client_id is form-urlencoded inside the Basic credentials
        return unquote_plus(base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[0])
    except (ValueError, UnicodeDecodeError):
        return ""


def _form_client_id(request) -> str:
    return request.POST.get("client_id", "") if request.method == "POST" else ""


def _ip_bucket(ip: str | None) -> str:
    """IPv6 clients are counted per /64: one host usually owns the whole prefix."""
    if not ip:
        return "unknown"
    address = ipaddress.ip_address(ip)
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(address)


class RateLimitMiddleware:
    """Place after TenantMiddleware (it needs request.tenant) and before CSRF (a flood of forged
    sign-in posts is limited too)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        tenant = getattr(request, "tenant", None)
        scope = scope_for(request) if tenant is not None else None
        if scope is None:
            return None
        rate = tenant_rates(tenant)[scope.name]
        if rate is None:
            return None
        kind, value = subject_of(request, scope)
        key = f"{tenant.pk}:{scope.name}:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"
        try:
            decision = limiter.hit(key, rate)
        except Exception:  # the cache (Redis) is down: serve rather than fail every request
            logger.warning("rate limiter unavailable; %s not limited", scope.name, exc_info=True)
            return None
        if decision.allowed:
            return None
        metrics.observe_rate_limited(scope.name, tenant)
        if _first_refusal_in_window(key, rate):
            record(
                "rate_limit.exceeded",
                tenant=tenant,
                request=request,
                actor=Ref("client", value, value) if kind == "client" else (None if kind == "ip" else ANONYMOUS),
                outcome=Outcome.DENIED,
                details={"scope": scope.name, "key": kind, "limit": str(rate), "retry_after": decision.retry_after},
            )
        return too_many_requests(request, scope, decision.retry_after)


def _first_refusal_in_window(key: str, rate: Rate) -> bool:
    """Audit a tripped limit once per window and key, so an attack does not flood the audit log."""
    try:
        return limiter.first_in_window(key, rate, "audited")
    except Exception:  # the cache went away between the count and now
        return False


def too_many_requests(request, scope: Scope, retry_after: int) -> HttpResponse:
    message = f"Too many requests. Try again in {retry_after} second{'s' if retry_after != 1 else ''}."
    if scope.answer == "oauth":
        # RFC 6749 §5.2 has no code for this. "temporarily_unavailable" (§4.1.2.1: "unable to handle
        # the request due to a temporary overloading") is the registered code that says it, so
        # generic clients understand it; 429 + Retry-After (RFC 6585 §4) says why and for how long.
        response = JsonResponse({"error": "temporarily_unavailable", "error_description": message}, status=429)
    elif scope.answer == "scim":
        # RFC 7644 §3.12: the error schema, "status" as a string; no scimType fits a rate limit.
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "429", "detail": message}
        response = HttpResponse(json.dumps(body), status=429, content_type="application/scim+json")
    else:
        context = {"status": 429, "title": "Too many requests", "message": message}
        response = HttpResponse(loader.render_to_string("errors/error.html", context, request=request), status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response
