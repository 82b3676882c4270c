"""A tenant's webhook subscriptions: create (the secret is returned once), change, delete, redeliver.
Each change is audited in its transaction (webhook.created, webhook.updated, webhook.deleted,
webhook.redelivered) and forgets the memoised routes of the tenant."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from lumoauth import outbound
from lumoauth.events.api import Ref, record

from .catalogue import normalize_patterns, pattern_errors
from .models import Delivery, WebhookSubscription
from .outbox import enqueue
from .routing import forget_routes
from .secrets import encrypt_secret, generate_secret

EDITABLE = frozenset({"url", "description", "event_types", "active", "notification_channel"})
MAX_URL = 2048
MAX_DESCRIPTION = 255


def subscription_ref(subscription: WebhookSubscription) -> Ref:
    return Ref("webhook", str(subscription.uid), subscription.description or subscription.url[:255])


def _validate(subscription: WebhookSubscription) -> None:
    errors: dict[str, list[str]] = {}
    url = subscription.url
    if not isinstance(url, str) or len(url) > MAX_URL:
        errors["url"] = [f"A URL of at most {MAX_URL} characters."]
    else:
        try:
            outbound.check_url_form(url)
        except outbound.OutboundRefused as exc:
            errors["url"] = [str(exc)]
    description = subscription.description
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION or "\x00" in description:
        errors["description"] = [f"At most {MAX_DESCRIPTION} characters."]
    types = subscription.event_types
    if not (subscription.notification_channel and types == []):  # a notification-only receiver wants no events
        problems = pattern_errors(types)
        if problems:
            errors["event_types"] = problems
    for flag in ("active", "notification_channel"):
        if not isinstance(getattr(subscription, flag), bool):
            errors[flag] = ["Expected true or false."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_subscription(
    tenant,
    url: str,
    event_types: list[str],
    *,
    description: str = "",
    active: bool = True,
    notification_channel: bool = False,
    actor: Ref | None = None,
    request=None,
) -> tuple[WebhookSubscription, str]:
    """Returns the subscription and its signing secret (`whsec_...`), which is never shown again."""
    subscription = WebhookSubscription(
        tenant=tenant,
        url=url.strip() if isinstance(url, str) else url,
        description=description.strip() if isinstance(description, str) else description,
        event_types=normalize_patterns(event_types) if isinstance(event_types, list) else event_types,
        active=active,
        notification_channel=notification_channel,
    )
    _validate(subscription)
    secret = generate_secret()
    subscription.secret_encrypted = encrypt_secret(secret, subscription.uid)
    subscription.save()
    forget_routes(tenant.pk)
    record(
        "webhook.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=subscription_ref(subscription),
        details={"url": subscription.url, "event_types": subscription.event_types, "active": subscription.active},
    )
    return subscription, secret


@transaction.atomic
def update_subscription(subscription: WebhookSubscription, *, actor: Ref | None = None, request=None, **changes: Any):
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} here")
    if isinstance(changes.get("url"), str):
        changes["url"] = changes["url"].strip()
    if isinstance(changes.get("description"), str):
        changes["description"] = changes["description"].strip()
    if isinstance(changes.get("event_types"), list):
        changes["event_types"] = normalize_patterns(changes["event_types"])
    changed = sorted(f for f, v in changes.items() if getattr(subscription, f) != v)
    if not changed:
        return subscription
    for name in changed:
        setattr(subscription, name, changes[name])
    _validate(subscription)
    subscription.save()
    forget_routes(subscription.tenant_id)
    record(
        "webhook.updated",
        tenant=subscription.tenant,
        actor=actor,
        request=request,
        target=subscription_ref(subscription),
        details={"fields": changed},
    )
    return subscription


@transaction.atomic
def delete_subscription(subscription: WebhookSubscription, *, actor: Ref | None = None, request=None) -> None:
    """Deletes it with its deliveries (undelivered ones are dropped)."""
    target, tenant = subscription_ref(subscription), subscription.tenant
    subscription.delete()
    forget_routes(tenant.pk)
    record("webhook.deleted", tenant=tenant, actor=actor, request=request, target=target)


@transaction.atomic
def redeliver(delivery: Delivery, *, actor: Ref | None = None, request=None) -> Delivery:
    """Attempt a delivery again now, with a fresh round of retries (any status; succeeded ones are
    sent again with the same webhook-id, so receivers that deduplicate ignore them)."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING,
        next_attempt_at=now,
        enqueued_at=now,
        round_started_at_attempt=delivery.attempts,
    )  # an attempt in flight keeps its claim: no second concurrent attempt
    delivery.refresh_from_db()
    subscription = delivery.subscription
    record(
        "webhook.redelivered",
        tenant=delivery.tenant,
        actor=actor,
        request=request,
        target=subscription_ref(subscription)
        if subscription
        else Ref("delivery", str(delivery.pk), delivery.recipient),
        details={"delivery": delivery.pk, "event_id": str(delivery.message.event_id)},
    )
    transaction.on_commit(lambda: enqueue([delivery.pk]), robust=True)
    return delivery
