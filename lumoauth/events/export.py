"""Exporting a tenant's audit log as CSV or JSON Lines, streamed in keyset chunks (flat memory).

Exporting is itself audited (`audit.exported`); the export covers the events before that record.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from django.db.models import QuerySet

from .actors import Ref
from .models import AuditEvent
from .recorder import record
from .search import AuditQuery, iter_events

EXPORT_CHUNK_SIZE = 1000  # rows per query while streaming
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
COLUMNS = (
    "id",
    "occurred_at",
    "action",
    "outcome",
    "actor_type",
    "actor_id",
    "actor_label",
    "target_type",
    "target_id",
    "target_label",
    "ip_address",
    "user_agent",
    "details",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP): such a
# cell gets a leading apostrophe, which makes it text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def as_dict(event: AuditEvent) -> dict:
    return {
        "id": event.id,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "action": event.action,
        "outcome": event.outcome,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "details": event.details,
    }


def csv_cell(value) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


class _Line:
    """csv.writer's file: hands back each written line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Line())  # RFC 4180: CRLF line ends, quotes doubled
    yield writer.writerow(COLUMNS)
    for event in events:
        row = as_dict(event)
        yield writer.writerow([row["id"]] + [csv_cell(row[name]) for name in COLUMNS[1:]])


def jsonl_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    """JSON Lines (https://jsonlines.org/): one event object per line, newest first. ASCII only, so
    no character in a value (U+2028, say) can look like a line end to a reader."""
    for event in events:
        yield json.dumps(as_dict(event)) + "\n"


def export_lines(events: QuerySet, fmt: str, *, before: int | None = None) -> Iterator[str]:
    """The lines of the export of `events` (older than `before`) in `fmt`, read chunk by chunk."""
    rows = iter_events(events, before=before, chunk_size=EXPORT_CHUNK_SIZE)
    return csv_lines(rows) if fmt == "csv" else jsonl_lines(rows)


def record_export(tenant, query: AuditQuery, fmt: str, *, actor: Ref | None = None, request=None) -> AuditEvent:
    """Audit an export (who exported what and how): call it before streaming the export."""
    return record(
        "audit.exported",
        tenant=tenant,
        actor=actor,
        request=request,
        target=Ref("audit_log", str(tenant.pk), "audit log"),
        details={"format": fmt, "filters": query.as_details()},
    )
