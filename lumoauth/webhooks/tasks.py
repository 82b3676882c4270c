"""Celery tasks: one per delivery attempt, and the periodic sweep (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from .delivery import attempt_delivery
from .sweep import sweep as sweep_due


@shared_task(name="lumoauth.webhooks.deliver", ignore_result=True, acks_late=True)
def deliver(delivery_id: int) -> str | None:
    return attempt_delivery(delivery_id)


@shared_task(name="lumoauth.webhooks.sweep", ignore_result=True)
def sweep() -> int:
    return sweep_due()
