"""The request ID: one per request, in a contextvar that a logging filter copies into every record.

Taken from the incoming X-Request-ID when a trusted proxy sets it (LUMOAUTH_TRUST_REQUEST_ID,
default: on when LUMOAUTH_TRUSTED_PROXY_COUNT > 0) and it looks like an ID; generated otherwise.
Celery tasks get the ID of the request that enqueued them (celery_signals.py).
"""

import logging
import re
import uuid
from contextvars import ContextVar, Token

from . import tracing

HEADER = "X-Request-ID"
_current: ContextVar[str | None] = ContextVar("lumoauth_request_id", default=None)
# Printable, no spaces or quotes: it goes into log lines and response headers as it is.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}$")


def current_request_id() -> str | None:
    return _current.get()


def bind_request_id(request_id: str | None) -> Token:
    return _current.set(request_id)


def unbind_request_id(token: Token) -> None:
    _current.reset(token)


def new_request_id() -> str:
    return uuid.uuid4().hex


def acceptable_request_id(value: str) -> bool:
    return bool(value) and bool(_ACCEPTABLE.match(value))


def request_id_for(request, trust_incoming: bool) -> str:
    incoming = request.META.get("HTTP_X_REQUEST_ID", "").strip() if trust_incoming else ""
    return incoming if acceptable_request_id(incoming) else new_request_id()


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (and, while a trace is recorded, `trace_id`/`span_id`) to each record.
    Attach it to handlers: a logger's own filters do not see records propagated from children."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get() or "-"
        if tracing.enabled and not hasattr(record, "trace_id"):
            ids = tracing.current_ids()
            if ids:
                record.trace_id, record.span_id = ids
        return True
