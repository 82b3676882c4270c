"""Notifications to a user through the tenant's channel, for features that need to reach a person
out of band (CIBA, step-up approvals): a webhook to the tenant's notification URL (its subscriptions
flagged `notification_channel`) or an email through Django's email backend.

Both go through the outbox (outbox.py): written in the caller's transaction, sent by the delivery
task after commit, retried on the same schedule, swept after an outage. Each call is audited
(`notification.queued`).
"""

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from lumoauth.events.api import Ref, record, user_ref

from .models import Delivery
from .outbox import iso_timestamp, write_message
from .routing import notification_routes

WEBHOOK, EMAIL = "webhook", "email"
CHANNELS = (WEBHOOK, EMAIL)
_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


class NoNotificationChannel(Exception):
    """The tenant has no notification URL and the user no email address (or the channel asked for is missing)."""


def _channel_for(user, channel: str | None) -> str:
    has_webhook = bool(notification_routes(user.tenant_id))
    if channel is None:
        channel = WEBHOOK if has_webhook else EMAIL
    if channel not in CHANNELS:
        raise ValueError(f"unknown notification channel {channel!r}")
    if channel == WEBHOOK and not has_webhook:
        raise NoNotificationChannel("The organization has no active notification webhook.")
    if channel == EMAIL and not user.email:
        raise NoNotificationChannel("The user has no email address.")
    return channel


@transaction.atomic
def notify(
    user, kind: str, payload: dict, channel: str | None = None, *, actor: Ref | None = None, request=None
) -> list[Delivery]:
    """Queue a notification of `kind` (e.g. "ciba.authentication_requested") to `user`.

    `payload` is JSON-ready data for the receiver; for email, its "subject" and "text" are the
    message (the webhook receives all of it). channel None: the tenant's notification webhook if it
    has one, else email. Returns the deliveries queued (sent after the caller's transaction commits).
    """
    if not isinstance(kind, str) or len(kind) > 80 or not _KIND.match(kind):
        raise ValidationError({"kind": "A notification kind is dotted lower-case words, e.g. ciba.requested."})
    if not isinstance(payload, dict):
        raise ValidationError({"payload": "The payload is a JSON object."})
    channel = _channel_for(user, channel)
    tenant = user.tenant
    event_type = f"notification.{kind}"
    audit = record(
        "notification.queued",
        tenant=tenant,
        actor=actor,
        request=request,
        target=user_ref(user),
        details={"kind": kind, "channel": channel},
    )
    body = {
        "type": event_type,
        "timestamp": iso_timestamp(audit.occurred_at),
        "data": {
            **payload,
            "kind": kind,
            "tenant": {"id": tenant.pk, "slug": tenant.slug},
            "user": {"sub": str(user.sub), "username": user.username, "email": user.email},
        },
    }
    if channel == WEBHOOK:
        return write_message(
            tenant.pk, event_type, body, subscription_ids=notification_routes(tenant.pk), audit_event_id=audit.pk
        )
    return write_message(tenant.pk, event_type, body, email_recipients=[user.email], audit_event_id=audit.pk)
