"""The periodic sweep (Celery beat, CELERY_BEAT_SCHEDULE): queue again every pending delivery that is
due and has waited too long - its task was never queued (broker down at commit), was lost (worker
gone), or its retry is longer than a queued countdown is kept. A Redis or worker outage only delays.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Delivery
from .outbox import enqueue

log = logging.getLogger(__name__)

SWEEP_BATCH = 1000


def due_deliveries(now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Pending, due, not claimed by a live worker, and not queued within LUMOAUTH_WEBHOOK_REQUEUE_AFTER."""
    requeue_before = now - timedelta(seconds=float(settings.LUMOAUTH_WEBHOOK_REQUEUE_AFTER))
    rows = (
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=requeue_before))
        .order_by("next_attempt_at")
    )
    return list(rows.values_list("pk", flat=True)[:limit])


def sweep(now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Queue the deliveries that wait too long; returns how many were queued."""
    now = now or timezone.now()
    ids = due_deliveries(now, limit)
    if not ids:
        return 0
    # Marked first: a sweep running again before the tasks run does not queue them twice.
    Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    queued = enqueue(ids)
    if queued:
        log.info("webhook sweep queued %s deliveries", queued)
    return queued
