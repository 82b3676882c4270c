"""Input checks and JSON shapes of the webhooks API (the service validates URLs and event types)."""

from rest_framework import serializers

from ..models import Delivery, WebhookSubscription
from ..outbox import iso_timestamp

ATTEMPTS_SHOWN = 10


class SubscriptionInput(serializers.Serializer):
    url = serializers.CharField(max_length=2048)
    description = serializers.CharField(max_length=255, allow_blank=True, required=False, default="")
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=100, required=False, default=list
    )
    active = serializers.BooleanField(required=False, default=True)
    notification_channel = serializers.BooleanField(required=False, default=False)


def _time(value) -> str | None:
    return iso_timestamp(value) if value else None


def subscription_json(subscription: WebhookSubscription) -> dict:
    return {
        "id": str(subscription.uid),
        "url": subscription.url,
        "description": subscription.description,
        "event_types": subscription.event_types,
        "active": subscription.active,
        "notification_channel": subscription.notification_channel,
        "created_at": _time(subscription.created_at),
        "updated_at": _time(subscription.updated_at),
    }


def delivery_json(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk,
        "event_id": str(delivery.message.event_id),
        "event_type": delivery.message.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _time(delivery.next_attempt_at) if delivery.status == Delivery.Status.PENDING else None,
        "last_attempt_at": _time(delivery.last_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": _time(delivery.delivered_at),
        "created_at": _time(delivery.created_at),
        "attempt_log": [
            {
                "number": attempt.number,
                "at": _time(attempt.at),
                "status_code": attempt.status_code,
                "latency_ms": attempt.latency_ms,
                "response_excerpt": attempt.response_excerpt,
                "error": attempt.error,
            }
            for attempt in delivery.attempt_log.all()[:ATTEMPTS_SHOWN]
        ],
    }
