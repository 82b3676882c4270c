"""notify(): a user notification through the tenant's notification webhook or by email, through the
same outbox, task, retries and sweep as the events."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from lumoauth.events.api import AuditEvent
from lumoauth.webhooks.models import Delivery, OutboxMessage
from lumoauth.webhooks.notifications import NoNotificationChannel, notify
from lumoauth.webhooks.sweep import sweep

from .conftest import ADMIN

pytestmark = pytest.mark.django_db


def test_a_notification_goes_to_the_tenants_notification_webhook(
    tenant, make_user, subscribe, receiver, eager, django_capture_on_commit_callbacks
):
    subscribe(tenant, receiver.url, ["user.deleted"])  # an ordinary subscription: not a notification channel
    channel, secret = subscribe(tenant, receiver.url, [], notification_channel=True)
    alice = make_user(tenant, "alice")
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = notify(alice, "ciba.requested", {"binding_message": "W4SCT", "auth_req_id": "r1"}, actor=ADMIN)
    assert delivery.subscription_id == channel.pk
    (request,) = receiver.wait_for(1, timeout=5)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "notification.ciba.requested"
    assert payload["data"]["binding_message"] == "W4SCT" and payload["data"]["kind"] == "ciba.requested"
    assert payload["data"]["user"] == {"sub": str(alice.sub), "username": "alice", "email": "alice@acme.example"}
    event = AuditEvent.objects.get(tenant=tenant, action="notification.queued")
    assert event.details == {"kind": "ciba.requested", "channel": "webhook"} and event.target_label == "alice"
    assert Delivery.objects.get(pk=delivery.pk).status == "succeeded"


def test_without_a_notification_webhook_it_is_an_email(tenant, make_user, eager, django_capture_on_commit_callbacks):
    alice = make_user(tenant, "alice")
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = notify(alice, "stepup.approve", {"subject": "Approve the sign-in?", "text": "Code 1234"})
        assert mail.outbox == []  # sent by the task, after commit
    (message,) = mail.outbox
    assert (message.subject, message.body, message.to) == ("Approve the sign-in?", "Code 1234", ["alice@acme.example"])
    delivery.refresh_from_db()
    assert (delivery.channel, delivery.status, delivery.attempts) == ("email", "succeeded", 1)


def test_a_failed_email_is_retried_like_a_webhook(tenant, make_user, eager, settings, instant_retries):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, False, 2
    alice = make_user(tenant, "alice")
    (delivery,) = notify(alice, "stepup.approve", {"subject": "s", "text": "t"})
    sweep(now=timezone.now() + timedelta(minutes=10))
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.last_error.startswith("Email not sent: ConnectionRefusedError")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sweep(now=timezone.now() + timedelta(minutes=20))
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 2 and len(mail.outbox) == 1


def test_channels_that_are_missing_or_bad_requests(tenant, make_user, subscribe, receiver):
    nobody = make_user(tenant, "nobody", email="")
    with pytest.raises(NoNotificationChannel):
        notify(nobody, "ciba.requested", {})  # no webhook and no email address
    alice = make_user(tenant, "alice")
    with pytest.raises(NoNotificationChannel):
        notify(alice, "ciba.requested", {}, channel="webhook")
    subscribe(tenant, receiver.url, ["user.*"])  # not flagged as the notification channel
    with pytest.raises(NoNotificationChannel):
        notify(alice, "ciba.requested", {}, channel="webhook")
    for kind in ("", "Bad Kind", "x" * 100, None, "a..b"):
        with pytest.raises(ValidationError):
            notify(alice, kind, {})
    with pytest.raises(ValidationError):
        notify(alice, "ok", ["not", "a", "dict"])
    with pytest.raises(ValueError):
        notify(alice, "ok", {}, channel="pigeon")
    assert not OutboxMessage.objects.filter(event_type__startswith="notification.").exists()


def test_a_notification_rolls_back_with_its_transaction(tenant, make_user):
    alice = make_user(tenant, "alice")
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(alice, "ciba.requested", {"subject": "s", "text": "t"})
        raise RuntimeError
    assert not OutboxMessage.objects.exists() and not AuditEvent.objects.filter(action="notification.queued").exists()
