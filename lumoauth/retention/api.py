"""The retention job: purge functions registered by the apps, run in order, one audit event per run.

A purge function takes the time of the run and `dry_run` and returns the rows it deleted (or would
delete) per model label. It selects only rows that are past their retention and that nothing can use
any more; delete_in_batches() removes them a batch at a time, each batch in its own short
transaction. The audit log is never purged: it is append-only.
"""

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from lumoauth.events.api import Outcome, Ref, record

log = logging.getLogger(__name__)

Purge = Callable[..., Counter]  # (now, *, dry_run=False) -> rows per model label
_purgers: list[tuple[int, Purge]] = []


class PurgeFailed(Exception):
    """Some purge functions raised (the others ran, and the run was audited)."""


def purger(order: int) -> Callable[[Purge], Purge]:
    """Register a purge function; lower `order` runs first (rows that free others go before them)."""

    def register(function: Purge) -> Purge:
        if function not in [f for _, f in _purgers]:
            _purgers.append((order, function))
        return function

    return register


def purgers() -> list[Purge]:
    return [function for _, function in sorted(_purgers, key=lambda item: item[0])]


def policy() -> dict:
    """The retention settings in force (recorded with each run)."""
    return {
        "webhook_days": settings.LUMOAUTH_RETENTION_WEBHOOK_DAYS,
        "session_days": settings.LUMOAUTH_RETENTION_SESSION_DAYS,
        "grace_hours": settings.LUMOAUTH_RETENTION_GRACE_HOURS,
        "batch_size": settings.LUMOAUTH_RETENTION_BATCH_SIZE,
    }


def _cascades(model) -> list:
    """The relations whose rows are deleted with the model's (on_delete=CASCADE)."""
    return [rel for rel in model._meta.related_objects if rel.on_delete is models.CASCADE]


def delete_in_batches(queryset: QuerySet, *, dry_run: bool = False) -> Counter:
    """Delete the rows of `queryset` and what cascades from them, LUMOAUTH_RETENTION_BATCH_SIZE rows
    per transaction, walking the primary key upwards. Each batch is selected with the queryset's
    conditions and deleted with them again; where the database can, the rows are locked first with
    SELECT ... FOR UPDATE SKIP LOCKED, so a row someone is changing is left for the next run.
    Returns the rows deleted per model label (dry run: the rows that match now)."""
    model = queryset.model
    counts = Counter({model._meta.label: 0} | {rel.related_model._meta.label: 0 for rel in _cascades(model)})
    if dry_run:
        counts[model._meta.label] = queryset.count()
        for rel in _cascades(model):
            related = rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": queryset.values("pk")})
            counts[rel.related_model._meta.label] += related.count()
        return counts
    size = max(1, int(settings.LUMOAUTH_RETENTION_BATCH_SIZE))
    rows = queryset.order_by("pk")
    features = connections[queryset.db].features
    if features.has_select_for_update_skip_locked and features.has_select_for_update_of:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    last = None
    while True:
        batch = rows if last is None else rows.filter(pk__gt=last)
        with transaction.atomic(using=queryset.db):
            ids = list(batch.values_list("pk", flat=True)[:size])
            if ids:
                counts.update(queryset.filter(pk__in=ids).delete()[1])
        if len(ids) < size:
            return counts
        last = ids[-1]


def _name(function: Purge) -> str:
    return f"{function.__module__}.{function.__name__}"


def run(*, actor: Ref, now: datetime | None = None, dry_run: bool = False) -> Counter:
    """Run every purge function and, unless dry_run, record one `retention.purged` event (no tenant:
    the job is the platform's) with the rows deleted per model. A function that raises is logged and
    named in the event, the others still run, then PurgeFailed is raised."""
    now = now or timezone.now()
    counts, failed = Counter(), []
    for function in purgers():
        try:
            counts.update(function(now, dry_run=dry_run))
        except Exception:
            log.exception("retention: %s failed", _name(function))
            failed.append(_name(function))
    if not dry_run:
        total = sum(counts.values())
        record(
            "retention.purged",
            actor=actor,
            outcome=Outcome.FAILURE if failed else Outcome.SUCCESS,
            details={"deleted": dict(sorted(counts.items())), "total": total, "policy": policy(), "failed": failed},
        )
        log.info("retention: %s rows deleted", total)
    if failed:
        raise PurgeFailed(", ".join(failed))
    return counts
