"""The outermost middleware: a request ID for the request, one access-log line and the request
metrics when the response leaves."""

import logging
import time

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from django.urls import resolve

from . import metrics
from .request_id import HEADER, bind_request_id, request_id_for

access_log = logging.getLogger("lumoauth.access")
# Probes arrive every few seconds: counted in the metrics, logged at DEBUG only.
PROBE_ROUTES = frozenset({"healthz", "readyz", "metrics"})
_TENANT_NAMESPACES = frozenset({"tenant", "tenant-alias"})
_TENANT_PREFIXES = ("t/<slug:tenant_slug>/", "orgs/<slug:tenant_slug>/")
_CONTROL = {code: f"\\x{code:02x}" for code in (*range(32), 127)}


def route_name(request) -> str:
    """A bounded name for the route: the URL name without the tenant namespaces (/t/ and /orgs/
    are one route), the route pattern when it has no name, "unmatched" for a 404 that matched none."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    if match.url_name:
        namespaces = [n for n in match.namespaces if n not in _TENANT_NAMESPACES]
        return ":".join([*namespaces, match.url_name])
    route = match.route or "unnamed"
    for prefix in _TENANT_PREFIXES:
        route = route.removeprefix(prefix)
    return route


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        trust = getattr(settings, "LUMOAUTH_TRUST_REQUEST_ID", False)
        request.request_id = request_id_for(request, trust)
        # Bound until the request is finished (request_finished, when the server closes the
        # response), not just until this returns: Django logs 4xx/5xx after the middleware.
        bind_request_id(request.request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[HEADER] = request.request_id
        self.observe(request, response.status_code, time.perf_counter() - started)
        return response

    @staticmethod
    def observe(request, status: int, seconds: float) -> None:
        route = route_name(request)
        metrics.observe_request(route, request.method, status, seconds)
        tenant = getattr(request, "tenant", None)
        duration_ms = round(seconds * 1000, 1)
        access_log.log(
            logging.DEBUG if route in PROBE_ROUTES else logging.INFO,
            "%s %s %s %.1fms",
            request.method,
            request.path.translate(_CONTROL),  # a text log line stays one line
            status,
            duration_ms,
            extra={
                "http": {"method": request.method, "route": route, "path": request.path, "status_code": status},
                "duration_ms": duration_ms,
                "tenant": tenant.slug if tenant is not None else None,
                "client_ip": _client_ip(request),
            },
        )


def _client_ip(request) -> str | None:
    from lumoauth.events.api import client_ip

    return client_ip(request)


class ProbeMiddleware:
    """Answers /healthz, /readyz and /metrics before host validation and the HTTPS redirect.

    Load balancers, orchestrators and Prometheus call an instance by its own address (Host:
    10.0.3.7:8000), which ALLOWED_HOSTS rightly refuses for everything else, and over plain HTTP.
    These answers build no URLs from the Host header, so they are safe to serve to any host.
    Place right after RequestObservabilityMiddleware (probes still get an ID and are counted).
    """

    PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in self.PATHS:
            return self.get_response(request)
        request.resolver_match = resolve(request.path_info)
        return request.resolver_match.func(request)


@receiver(request_finished, dispatch_uid="lumoauth.request_id.finished")
def _request_finished(**kwargs) -> None:
    bind_request_id(None)
