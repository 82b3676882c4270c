"""Prometheus metrics, and the /metrics endpoint that exposes them with everything else on
prometheus_client's default REGISTRY (e.g. the webhook delivery metrics).

Labels stay bounded: routes are URL names (never raw paths), statuses are codes, methods a fixed
set, grant types and sign-in methods a fixed set, and the tenant label is the tenant's slug -
one series per tenant, fine for the organizations an operator creates; LUMOAUTH_METRICS_TENANT_LABEL=off
collapses it to "_all" where tenants are counted in the thousands.

With several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (an empty directory, wiped at start by
gunicorn.conf.py): prometheus_client then keeps values in files there and /metrics sums them over
all workers (docs/observability.md).
"""

import hmac
import ipaddress
import logging
import os
from functools import lru_cache

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_http_methods
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder

logger = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
GRANT_TYPES = frozenset(
    {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:openid:params:grant-type:ciba",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    }
)
SIGN_IN_METHODS = frozenset({"password", "saml", "oidc", "passkey", "otp"})
ALL_TENANTS = "_all"

REQUESTS = Counter(
    "lumoauth_http_requests_total",
    "HTTP requests by route name, method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "lumoauth_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TOKENS_ISSUED = Counter(
    "lumoauth_tokens_issued_total", "Tokens issued, by tenant and grant type.", ["tenant", "grant_type"]
)
SIGN_INS = Counter(
    "lumoauth_signins_total",
    "Sign-ins by tenant, result (succeeded, failed, throttled) and method.",
    ["tenant", "result", "method"],
)
RATE_LIMITED = Counter(
    "lumoauth_rate_limited_total", "Requests refused by a rate limit, by tenant and scope.", ["tenant", "scope"]
)


def tenant_label(tenant) -> str:
    if tenant is None:
        return ""
    return tenant.slug if getattr(settings, "LUMOAUTH_METRICS_TENANT_LABEL", True) else ALL_TENANTS


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method if method in METHODS else "other", str(status)).inc()
    LATENCY.labels(route).observe(seconds)


def observe_event(action: str, outcome: str, tenant, details: dict | None) -> None:
    """Called by the audit recorder for every event: counts the ones that are metrics too.
    Never raises: a metric must not break the change being recorded."""
    try:
        details = details or {}
        if action == "oauth.token.issued":
            grant = details.get("grant_type", "")
            TOKENS_ISSUED.labels(tenant_label(tenant), grant if grant in GRANT_TYPES else "other").inc()
        elif action in ("login.succeeded", "login.failed"):
            if action == "login.succeeded":
                result = "succeeded"
            else:
                result = "throttled" if outcome == "denied" else "failed"
            method = details.get("method", "")
            SIGN_INS.labels(tenant_label(tenant), result, method if method in SIGN_IN_METHODS else "other").inc()
    except Exception:  # pragma: no cover - defensive
        logger.exception("could not count %s", action)


def observe_rate_limited(scope: str, tenant) -> None:
    RATE_LIMITED.labels(tenant_label(tenant), scope).inc()


# ---- exposition --------------------------------------------------------------------------------
class _Exposed:
    """What /metrics shows: the default REGISTRY, or in multiprocess mode the values summed over
    all processes plus whatever else is on the REGISTRY (custom collectors)."""

    def collect(self):
        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not path:
            yield from REGISTRY.collect()
            return
        from prometheus_client import multiprocess

        summed = CollectorRegistry()
        multiprocess.MultiProcessCollector(summed, path=path)
        families = list(summed.collect())
        names = {family.name for family in families}
        yield from families
        for family in REGISTRY.collect():
            # This process's own copies of file-backed metrics are already in the sums, and its
            # process_*/python_* figures describe one random worker.
            if family.name not in names and not family.name.startswith(("process_", "python_")):
                yield family


def caller_may_scrape(request) -> bool:
    """LUMOAUTH_METRICS_TOKEN as a bearer token from anywhere, or a caller in
    LUMOAUTH_METRICS_ALLOWED_NETWORKS (default loopback). A request that came through a proxy
    (forwarding headers) while no proxy is trusted is not local, whatever its REMOTE_ADDR."""
    from lumoauth.events.api import client_ip

    token = getattr(settings, "LUMOAUTH_METRICS_TOKEN", "")
    if token:
        scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return True
    if settings.LUMOAUTH_TRUSTED_PROXY_COUNT == 0 and any(
        name in request.META for name in ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
    ):
        return False
    ip = client_ip(request)
    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in allowed_networks(tuple(settings.LUMOAUTH_METRICS_ALLOWED_NETWORKS)))


@lru_cache(maxsize=8)
def allowed_networks(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network.strip(), strict=False) for network in networks if network.strip())


@require_http_methods(["GET", "HEAD"])
def metrics_view(request):
    if not caller_may_scrape(request):
        if getattr(settings, "LUMOAUTH_METRICS_TOKEN", ""):
            response = HttpResponse("A valid metrics token is required.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        else:
            response = HttpResponse("Metrics are for allowed networks only.\n", status=403, content_type="text/plain")
        return response
    encoder, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
    response = HttpResponse(encoder(_Exposed()), content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
