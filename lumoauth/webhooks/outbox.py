"""The transactional outbox: messages written in the transaction of the change they report, one
delivery per receiver, and a Celery task queued per delivery once that transaction commits.

If the transaction rolls back, the message goes with it; if the broker is down when it commits, the
rows stay pending and the sweep (sweep.py) queues them later. Nothing is written for a tenant without
a subscription that wants the event.
"""

import logging
from datetime import UTC

from django.db import transaction
from django.utils import timezone

from .catalogue import event_types_for
from .models import Delivery, OutboxMessage
from .routing import subscribers
from .secrets import encrypt_credential

log = logging.getLogger(__name__)

# Publishing a task to Redis: a couple of quick retries (a stale pooled connection reconnects), then
# give up - the sweep queues the delivery again. Never block the request that made the change.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def iso_timestamp(value) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def audit_payload(event, event_type: str) -> dict:
    """The body of a webhook reporting an audit event (docs/events.md)."""
    tenant = event.tenant
    return {
        "type": event_type,
        "timestamp": iso_timestamp(event.occurred_at),
        "data": {
            "tenant": {"id": tenant.pk, "slug": tenant.slug},
            "audit_event_id": event.pk,
            "action": event.action,
            "outcome": event.outcome,
            "actor": {"type": event.actor_type, "id": event.actor_id, "label": event.actor_label},
            "target": (
                {"type": event.target_type, "id": event.target_id, "label": event.target_label}
                if event.target_type
                else None
            ),
            "ip_address": event.ip_address,
            "details": event.details,
        },
    }


def publish_audit_event(event) -> None:
    """Called by lumoauth.events.recorder.record() for every audit event, in its transaction."""
    if event.tenant_id is None:
        return
    for event_type in event_types_for(event.action, event.actor_type):
        subscription_ids = subscribers(event.tenant_id, event_type)
        if subscription_ids:
            write_message(
                event.tenant_id,
                event_type,
                audit_payload(event, event_type),
                subscription_ids=subscription_ids,
                audit_event_id=event.pk,
            )


def write_message(
    tenant_id: int,
    event_type: str,
    payload: dict,
    *,
    subscription_ids: list[int] = (),
    email_recipients: list[str] = (),
    callback: tuple[str, str] | None = None,
    audit_event_id: int | None = None,
) -> list[Delivery]:
    """An outbox message and its deliveries, in the caller's transaction; tasks are queued on commit.
    `callback` is (url, bearer token): one POST of the payload to a client's URL (the CIBA ping)."""
    now = timezone.now()
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            tenant_id=tenant_id, event_type=event_type, payload=payload, audit_event_id=audit_event_id
        )
        common = {"tenant_id": tenant_id, "message": message, "next_attempt_at": now, "enqueued_at": now}
        deliveries = [
            Delivery(subscription_id=pk, channel=Delivery.Channel.WEBHOOK, **common) for pk in subscription_ids
        ]
        deliveries += [Delivery(recipient=to, channel=Delivery.Channel.EMAIL, **common) for to in email_recipients]
        if callback is not None:
            url, bearer = callback
            credential = encrypt_credential(bearer, message.event_id)
            deliveries.append(
                Delivery(url=url, credential_encrypted=credential, channel=Delivery.Channel.CALLBACK, **common)
            )
        deliveries = Delivery.objects.bulk_create(deliveries)
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: enqueue(ids), robust=True)
    return deliveries


def enqueue(delivery_ids, *, countdown: float | None = None) -> int:
    """Queue one delivery task per id; returns how many were queued. Never raises: what could not be
    queued (broker down) stays pending for the sweep. Without a broker (eager mode) the task runs here."""
    from .tasks import deliver

    queued = 0
    for pk in delivery_ids:
        try:
            deliver.apply_async((pk,), countdown=countdown, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
        except Exception as exc:  # the broker, or (eager mode) the task itself: never the caller's problem
            log.warning("webhook delivery %s not queued (the sweep will retry): %s", pk, exc)
        else:
            queued += 1
    return queued


def eager() -> bool:
    """True when tasks run in-process (no broker configured)."""
    from .tasks import deliver

    return bool(deliver.app.conf.task_always_eager)
