"""Webhook metrics on prometheus_client's default REGISTRY (exposed at /metrics with the rest).

- lumoauth_webhook_deliveries_total{outcome}: attempts by outcome (succeeded, retrying, failed), counted
  in the process that made the attempt (the Celery worker; the web process in eager mode).
- lumoauth_webhook_queue_lag_seconds: how long the oldest due pending delivery has been waiting, read
  from the database at scrape time (so any web process reports the queue of all workers).
- lumoauth_webhook_pending_deliveries: pending deliveries that are due, also at scrape time.
"""

import logging

from django.utils import timezone
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

OUTCOMES = {"succeeded": "succeeded", "pending": "retrying", "failed": "failed"}

DELIVERIES = Counter(
    "lumoauth_webhook_deliveries", "Webhook and notification delivery attempts by outcome.", ["outcome"]
)


def count_attempt(status: str) -> None:
    DELIVERIES.labels(OUTCOMES.get(status, "failed")).inc()


class QueueLagCollector:
    """Computed on each scrape from the deliveries table."""

    def describe(self):
        # Names only: registering must not query the database (apps may not be ready).
        yield GaugeMetricFamily("lumoauth_webhook_queue_lag_seconds", "Age of the oldest due pending delivery.")
        yield GaugeMetricFamily("lumoauth_webhook_pending_deliveries", "Pending deliveries that are due.")

    def collect(self):
        from django.db.models import Count, Min

        from .models import Delivery

        now = timezone.now()
        try:
            due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now).aggregate(
                oldest=Min("next_attempt_at"), count=Count("pk")
            )
        except Exception as exc:  # the database is down: report nothing rather than fail the scrape
            log.warning("webhook queue metrics unavailable: %s", exc)
            return
        lag = (now - due["oldest"]).total_seconds() if due["oldest"] else 0.0
        yield GaugeMetricFamily(
            "lumoauth_webhook_queue_lag_seconds", "Age of the oldest due pending delivery.", value=max(lag, 0.0)
        )
        yield GaugeMetricFamily(
            "lumoauth_webhook_pending_deliveries", "Pending deliveries that are due.", value=due["count"]
        )


_collector = QueueLagCollector()
_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(_collector)
        _registered = True
