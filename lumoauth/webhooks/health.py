"""How a tenant's webhooks are doing, in one small dict (for the portal dashboard)."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min
from django.utils import timezone

from .models import Delivery, WebhookSubscription


def webhook_health(tenant, *, now: datetime | None = None) -> dict[str, Any]:
    """{"active_subscriptions", "failed_24h", "pending", "oldest_pending_age_seconds", "status"}.

    failed_24h counts deliveries that gave up in the last 24 hours; pending those still to be sent
    (due or waiting for a retry); oldest_pending_age_seconds is how long the oldest pending delivery
    has been waiting since it was written (None when nothing is pending). status is "warning" when
    something failed in the last 24 hours or waited more than an hour, else "ok".
    """
    now = now or timezone.now()
    deliveries = Delivery.objects.filter(tenant=tenant)
    pending = deliveries.filter(status=Delivery.Status.PENDING).aggregate(oldest=Min("created_at"))
    pending_count = deliveries.filter(status=Delivery.Status.PENDING).count()
    failed = deliveries.filter(status=Delivery.Status.FAILED, last_attempt_at__gte=now - timedelta(hours=24)).count()
    oldest_age = int((now - pending["oldest"]).total_seconds()) if pending["oldest"] else None
    status = "warning" if failed or (oldest_age is not None and oldest_age > 3600) else "ok"
    return {
        "active_subscriptions": WebhookSubscription.objects.filter(tenant=tenant, active=True).count(),
        "failed_24h": failed,
        "pending": pending_count,
        "oldest_pending_age_seconds": oldest_age,
        "status": status,
    }
