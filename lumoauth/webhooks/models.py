"""Subscriptions, the outbox and its deliveries.

An `OutboxMessage` is written in the transaction of the change it reports (only when a subscription
wants it); one `Delivery` per receiver tracks its attempts, each logged as a `DeliveryAttempt`.
"""

import uuid

from django.db import models
from django.db.models import Q


class WebhookSubscription(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=255, blank=True)
    # Exact event types ("user.created"), families ("user.*") or "*" (docs/events.md).
    event_types = models.JSONField(default=list, blank=True)
    # The signing secret (Standard Webhooks `whsec_` form), AES-GCM encrypted (secrets.py); shown once.
    secret_encrypted = models.BinaryField()
    active = models.BooleanField(default=True)
    # The tenant's notification URL: notify() sends user notifications here (notifications.py).
    notification_channel = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "active"], name="webhook_sub_tenant_active")]

    def __str__(self) -> str:
        return self.description or self.url


class OutboxMessage(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    # The Standard Webhooks `webhook-id`: the same on every attempt, so receivers can deduplicate.
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    audit_event_id = models.BigIntegerField(null=True, blank=True)  # the audit event it reports, if any
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Channel(models.TextChoices):
        WEBHOOK = "webhook"
        EMAIL = "email"
        # A POST to a client's own URL with its bearer token (the CIBA ping, CIBA Core §10.2).
        CALLBACK = "callback"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(
        WebhookSubscription, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEBHOOK)
    recipient = models.CharField(max_length=254, blank=True)  # the address of an email delivery
    # A callback delivery: where it goes, and the bearer token it carries (AES-GCM encrypted, bound
    # to the message's event id; callbacks.py).
    url = models.CharField(max_length=2048, blank=True)
    credential_encrypted = models.BinaryField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts before the current retry round (a redelivery starts a new round of the schedule).
    round_started_at_attempt = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # When a task for it was last queued (or is due to run): the sweep queues again what waits too long.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # The claim of the worker attempting it: no other worker may attempt it before locked_until.
    locked_until = models.DateTimeField(null=True, blank=True)
    lease = models.UUIDField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The sweep: pending deliveries by due time.
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"),
            models.Index(fields=["subscription", "-id"], name="webhook_delivery_sub_recent"),
            models.Index(fields=["tenant", "status", "last_attempt_at"], name="webhook_delivery_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    EXCERPT_BYTES = 1024

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True)  # at most EXCERPT_BYTES of the response body
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
