"""OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set.

Spans of every Django request (opentelemetry-instrumentation-django) go to an OTLP/HTTP collector
through a batching processor. Off, nothing of OpenTelemetry is even imported: zero cost. The
exporter reads the standard OTEL_* variables itself (endpoint, headers, timeout, compression);
OTEL_SERVICE_NAME defaults to "lumoauth".
"""

import os

enabled = False


def wanted() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure_from_environment() -> bool:
    """Called once per process when Django starts (before the middleware is loaded: the Django
    instrumentation inserts its own middleware). Gunicorn workers each call it after the fork."""
    global enabled
    if enabled or not wanted():
        return enabled
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "lumoauth"})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    enabled = True
    return True


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the span being recorded, for log records."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def flush(timeout_millis: int = 5000) -> None:
    if enabled:
        from opentelemetry import trace

        trace.get_tracer_provider().force_flush(timeout_millis)
