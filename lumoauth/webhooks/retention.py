"""What the retention job (lumoauth/retention/api.py) deletes of the outbox.

Succeeded and failed deliveries, with their attempt logs, once their last attempt is
LUMOAUTH_RETENTION_WEBHOOK_DAYS old (until then the portal and the API show them and an admin may
redeliver them); pending deliveries never, however old. Then the messages no delivery refers to.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from lumoauth.retention.api import delete_in_batches, purger

from .models import Delivery, OutboxMessage


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(days=settings.LUMOAUTH_RETENTION_WEBHOOK_DAYS)


@purger(order=10)
def webhook_deliveries(now: datetime, *, dry_run: bool = False) -> Counter:
    cutoff = _cutoff(now)
    finished = Delivery.objects.filter(status__in=[Delivery.Status.SUCCEEDED, Delivery.Status.FAILED]).filter(
        Q(last_attempt_at__lt=cutoff) | Q(last_attempt_at__isnull=True, created_at__lt=cutoff)
    )
    return delete_in_batches(finished, dry_run=dry_run)


@purger(order=11)
def outbox_messages(now: datetime, *, dry_run: bool = False) -> Counter:
    unreferenced = OutboxMessage.objects.filter(created_at__lt=_cutoff(now)).filter(
        ~Exists(Delivery.objects.filter(message=OuterRef("pk")))
    )
    return delete_in_batches(unreferenced, dry_run=dry_run)
