"""Searching a tenant's audit log: filters, full-text search and keyset pages (never OFFSET).

Which index serves which query (migration 0003 adds the last four):
- no filter, any page (`id < cursor`): `audit_tenant_recent` (tenant, -id), walked backwards;
- exact action: `audit_tenant_action` (tenant, action, -id);
- action prefix (`LIKE 'login.%'`): on PostgreSQL `audit_tenant_action_prefix` (varchar_pattern_ops);
- outcome failure/denied: `audit_tenant_problems`, partial on outcome <> 'success';
- time range: two probes of `audit_tenant_time` (tenant, occurred_at) turn it into an id range
  (see _id_range), then `audit_tenant_recent` walks just that range;
- full text: on PostgreSQL the GIN index `audit_search` on SEARCH_VECTOR below.
Dense matches (actor, target) are found by walking `audit_tenant_recent` and stopping at a page.
"""

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import Q, QuerySet

from .models import AuditEvent

PAGE_SIZE = 50
SEARCH_CONFIG = "simple"  # no stemming, no stop words: identifiers, kids and emails match as typed
# The text the full-text search looks at. Migration 0003 builds its GIN index from the same
# columns: the planner uses the index only if the query's expression is identical.
SEARCH_FIELDS = ("action", "actor_label", "target_label", "target_id", "details")
MAX_CURSOR = 2**63 - 1  # a bigint; larger values would overflow the database driver
# Ids grow with occurred_at: record() sets occurred_at (auto_now_add) just before the INSERT draws
# the id; only the clocks of different servers can disagree, and by far less than this margin.
CLOCK_SKEW_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class AuditQuery:
    """The filters of an audit-log search; empty values do not filter."""

    action: str = ""  # prefix: "login." finds login.succeeded and login.failed
    actor: str = ""  # actor label contains, or actor id equals
    outcome: str = ""
    target_type: str = ""
    target: str = ""  # target label contains, or target id equals
    text: str = ""  # full-text search of action, labels, target id and details
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def as_details(self) -> dict:
        """The filters set, JSON-ready (for the audit event of an export)."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in asdict(self).items()
            if value
        }


def search_vector():
    from django.contrib.postgres.search import SearchVector

    return SearchVector(*SEARCH_FIELDS, config=SEARCH_CONFIG)


def _full_text(events: QuerySet, text: str) -> QuerySet:
    if connections[events.db].vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery

        # websearch syntax ("quoted phrase", or, -not) never raises on what people type.
        query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
        return events.alias(document=search_vector()).filter(document=query)
    # Elsewhere (SQLite): every word must appear in one of the columns (JSON text for details).
    for word in text.split():
        events = events.filter(
            Q(action__icontains=word)
            | Q(actor_label__icontains=word)
            | Q(target_label__icontains=word)
            | Q(target_id__icontains=word)
            | Q(details__icontains=word)
        )
    return events


def filtered_events(tenant, query: AuditQuery) -> QuerySet:
    """The tenant's events matching `query` (unordered, not yet paged)."""
    events = AuditEvent.objects.filter(tenant=tenant)
    if query.action:
        events = events.filter(action__startswith=query.action)
    if query.actor:
        events = events.filter(Q(actor_label__icontains=query.actor) | Q(actor_id=query.actor))
    if query.outcome:
        events = events.filter(outcome=query.outcome)
    if query.target_type:
        events = events.filter(target_type=query.target_type)
    if query.target:
        events = events.filter(Q(target_label__icontains=query.target) | Q(target_id=query.target))
    if query.since:
        events = events.filter(occurred_at__gte=query.since)
    if query.until:
        events = events.filter(occurred_at__lt=query.until)
    if query.since or query.until:
        events = _id_range(events, tenant, query.since, query.until)
    if query.text:
        events = _full_text(events, query.text)
    return events


def _id_range(events: QuerySet, tenant, since: datetime | None, until: datetime | None) -> QuerySet:
    """Add the id range that holds every event of the time range (the time filter stays exact).

    Without it the planner, which cannot know that ids and times grow together, may walk the
    newest events first and filter out everything newer than the range: slow for an old range.
    """
    mine = AuditEvent.objects.filter(tenant=tenant)
    if until is not None and until < datetime.max.replace(tzinfo=until.tzinfo) - CLOCK_SKEW_MARGIN:
        # Every event of the range is older than the first event well after it...
        later = mine.filter(occurred_at__gte=until + CLOCK_SKEW_MARGIN).order_by("occurred_at", "id")
        if (bound := later.values_list("id", flat=True).first()) is not None:
            events = events.filter(id__lt=bound)
    if since is not None and since > datetime.min.replace(tzinfo=since.tzinfo) + CLOCK_SKEW_MARGIN:
        # ... and newer than the last event well before it.
        earlier = mine.filter(occurred_at__lt=since - CLOCK_SKEW_MARGIN).order_by("-occurred_at", "-id")
        if (bound := earlier.values_list("id", flat=True).first()) is not None:
            events = events.filter(id__gt=bound)
    return events


@dataclass(frozen=True)
class Page:
    events: list[AuditEvent]
    newer: int | None  # cursor for the "Newer" link (after=<id>), None on the newest page
    older: int | None  # cursor for the "Older" link (before=<id>), None on the oldest page


def page_of(events: QuerySet, *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE) -> Page:
    """One page, newest first: the events just older than `before`, or just newer than `after`.

    Each is one index range scan with LIMIT size + 1 (the extra row says whether there is more),
    so a page deep in a million events costs the same as the first.
    """
    if after is not None:
        rows = list(events.filter(id__gt=after).order_by("id")[: size + 1])
        if len(rows) > size:
            rows = rows[:size][::-1]
            return Page(rows, newer=rows[0].id, older=rows[-1].id)
        before = None  # fewer than a page is newer: that is the first page
    if before is not None:
        events = events.filter(id__lt=before)
    rows = list(events.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, newer=rows[0].id if before is not None and rows else None, older=rows[-1].id if more else None)


def iter_events(events: QuerySet, *, before: int | None = None, chunk_size: int) -> Iterator[AuditEvent]:
    """Every event of `events`, newest first, read in keyset chunks of `chunk_size` rows: memory
    stays flat whatever the size of the set, and events added meanwhile (higher ids) never appear."""
    while True:
        chunk = events.filter(id__lt=before) if before is not None else events
        rows = list(chunk.order_by("-id")[:chunk_size])
        yield from rows
        if len(rows) < chunk_size:
            return
        before = rows[-1].id


def parse_cursor(value: str) -> int | None:
    """A `before`/`after` parameter: a positive bigint, or None for anything else."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_CURSOR else None
