"""Observability: request IDs and structured logs, Prometheus metrics, OpenTelemetry tracing.

Nothing here imports Django settings at module level, so `lumoauth.settings` can build its
logging configuration from `logs` (docs/observability.md).
"""
