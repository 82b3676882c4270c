"""Public functions of the audit kernel."""

from .actors import ANONYMOUS, SYSTEM, Ref, actor_from_request, user_ref
from .export import EXPORT_FORMATS, export_lines, record_export
from .models import AuditEvent, AuditLogIsAppendOnly, Outcome
from .recorder import client_ip, record
from .search import AuditQuery, Page, filtered_events, page_of, parse_cursor

__all__ = [
    "ANONYMOUS",
    "SYSTEM",
    "EXPORT_FORMATS",
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "AuditQuery",
    "Outcome",
    "Page",
    "Ref",
    "actor_from_request",
    "client_ip",
    "export_lines",
    "filtered_events",
    "page_of",
    "parse_cursor",
    "record",
    "record_export",
    "user_ref",
]
