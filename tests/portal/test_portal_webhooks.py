"""Webhooks in the portal: list, create (secret shown once), edit, delete, deliveries and redelivery,
tenant isolation, webhook_health() for the dashboard, and one browser journey."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from lumoauth.events.api import AuditEvent, Ref
from lumoauth.webhooks.delivery import attempt_delivery
from lumoauth.webhooks.health import webhook_health
from lumoauth.webhooks.models import Delivery, WebhookSubscription
from lumoauth.webhooks.subscriptions import create_subscription
from tests.portal.conftest import screenshot
from tests.webhooks.receiver import serving_receiver

pytestmark = pytest.mark.django_db

HOOKS = "/t/acme/portal/webhooks/"
ADMIN = Ref("user", "1", "boss")


@pytest.fixture
def receiver():
    with serving_receiver() as state:
        yield state


@pytest.fixture
def failed_delivery(tenant, make_user, settings):
    """A subscription whose receiver is down, and a delivery that has given up."""
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True
    settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = []
    subscription, _ = create_subscription(tenant, "http://127.0.0.1:9/down", ["user.created"], actor=ADMIN)
    make_user(tenant, "alice")
    delivery = Delivery.objects.get(subscription=subscription)
    assert attempt_delivery(delivery.pk) == "failed"
    return delivery


def test_an_admin_adds_a_webhook_and_sees_the_secret_once(admin_client, tenant):
    page = admin_client.get(HOOKS)
    assert page.status_code == 200 and b"No webhooks yet" in page.content
    assert b'aria-current="page">Webhooks</a>' in page.content
    created = admin_client.post(
        HOOKS,
        {
            "url": "https://hooks.example.com/in",
            "description": "CRM",
            "event_types": ["user.*", "token.issued"],
            "active": "on",
        },
    )
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    secret = created.context["secret"]
    assert secret.startswith("whsec_") and secret.encode() in created.content
    Webhook(secret)  # a secret the Standard Webhooks library accepts
    subscription = WebhookSubscription.objects.get(tenant=tenant)
    assert subscription.event_types == ["user.*", "token.issued"] and subscription.active
    listed = admin_client.get(HOOKS)
    assert b"CRM" in listed.content and secret.encode() not in listed.content  # never shown again
    event = AuditEvent.objects.get(tenant=tenant, action="webhook.created")
    assert event.actor_label == "boss" and secret not in str(event.details)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"url": "ftp://example.com/", "event_types": ["*"]}, "url"),
        ({"url": "http://169.254.169.254/latest", "event_types": ["*"]}, "url"),
        ({"url": "http://localhost:8000/x", "event_types": ["*"]}, "url"),
        ({"url": "https://hooks.example.com/", "event_types": []}, "event_types"),
        ({"url": "https://hooks.example.com/", "event_types": ["not.an.event"]}, "event_types"),
        ({"url": "", "event_types": ["*"]}, "url"),
    ],
)
def test_bad_input_is_shown_on_the_form(admin_client, tenant, data, field):
    answer = admin_client.post(HOOKS, data)
    assert answer.status_code == 400 and field in answer.context["form"].errors
    assert not WebhookSubscription.objects.exists()


def test_a_nul_character_is_a_400(admin_client):
    assert admin_client.post(HOOKS, {"url": "https://a.example/\x00", "event_types": ["*"]}).status_code == 400
    assert admin_client.post(HOOKS, {"url": "https://a.example/", "description": "a\x00"}).status_code == 400
    assert not WebhookSubscription.objects.exists()


def test_edit_and_delete(admin_client, tenant):
    subscription, _ = create_subscription(tenant, "https://hooks.example.com/a", ["user.*"], actor=ADMIN)
    url = f"{HOOKS}{subscription.uid}/"
    page = admin_client.get(url)
    assert page.status_code == 200 and re.search(rb'value="user\.\*"[^>]*checked', page.content)
    saved = admin_client.post(url, {"url": "https://hooks.example.com/b", "event_types": ["group.*"]})
    assert saved.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.url, subscription.event_types, subscription.active) == (
        "https://hooks.example.com/b",
        ["group.*"],
        False,
    )
    assert AuditEvent.objects.get(action="webhook.updated").details == {"fields": ["active", "event_types", "url"]}
    assert admin_client.get(f"{url}delete").status_code == 405
    assert admin_client.post(f"{url}delete").status_code == 302
    assert not WebhookSubscription.objects.exists()
    assert AuditEvent.objects.filter(action="webhook.deleted", actor_label="boss").exists()


def test_deliveries_show_attempts_and_a_failed_one_is_redelivered(admin_client, tenant, failed_delivery):
    page = admin_client.get(f"{HOOKS}{failed_delivery.subscription.uid}/deliveries")
    assert page.status_code == 200
    text = page.content.decode()
    assert "user.created" in text and "connection failed" in text and str(failed_delivery.message.event_id) in text
    assert "Redeliver" in text
    assert b"1 failed" in admin_client.get(HOOKS).content
    redeliver = f"{HOOKS}{failed_delivery.subscription.uid}/deliveries/{failed_delivery.pk}/redeliver"
    assert admin_client.post(redeliver).status_code == 302
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == "pending"
    assert AuditEvent.objects.filter(action="webhook.redelivered", actor_label="boss").exists()
    only_failed = admin_client.get(f"{HOOKS}{failed_delivery.subscription.uid}/deliveries?status=failed")
    assert b"No deliveries failed yet" in only_failed.content


def test_another_tenants_webhooks_are_not_found(admin_client, other_tenant, make_user, settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True
    settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = []
    theirs, _ = create_subscription(other_tenant, "http://127.0.0.1:9/x", ["user.created"], actor=ADMIN)
    make_user(other_tenant, "zoe")
    delivery = Delivery.objects.get(subscription=theirs)
    attempt_delivery(delivery.pk)
    base = f"{HOOKS}{theirs.uid}/"
    assert admin_client.get(base).status_code == 404
    assert admin_client.post(base, {"url": "https://x.example/", "event_types": ["*"]}).status_code == 404
    assert admin_client.get(f"{base}deliveries").status_code == 404
    assert admin_client.post(f"{base}deliveries/{delivery.pk}/redeliver").status_code == 404
    assert admin_client.post(f"{base}delete").status_code == 404
    assert admin_client.post(f"{HOOKS}{theirs.uid}/deliveries/{2**70}/redeliver").status_code == 404
    assert theirs.uid.hex.encode() not in admin_client.get(HOOKS).content
    assert WebhookSubscription.objects.filter(pk=theirs.pk).exists()
    assert Delivery.objects.get(pk=delivery.pk).status == "failed"


def test_members_and_strangers_do_not_get_in(tenant, make_user, sign_in):
    make_user(tenant, "alice")
    member = Client()
    sign_in(member, tenant, "alice")
    assert member.get(HOOKS).status_code == 404
    assert Client().get(HOOKS).status_code == 302  # to the sign-in page


def test_webhook_health_for_the_dashboard(tenant, other_tenant, failed_delivery, make_user):
    health = webhook_health(tenant)
    assert health == {
        "active_subscriptions": 1,
        "failed_24h": 1,
        "pending": 0,
        "oldest_pending_age_seconds": None,
        "status": "warning",
    }
    make_user(tenant, "bob")  # another delivery, pending
    later = webhook_health(tenant, now=timezone.now() + timedelta(hours=2))
    assert later["pending"] == 1 and later["oldest_pending_age_seconds"] >= 7200
    assert webhook_health(other_tenant) == {
        "active_subscriptions": 0,
        "failed_24h": 0,
        "pending": 0,
        "oldest_pending_age_seconds": None,
        "status": "ok",
    }
    assert webhook_health(tenant, now=timezone.now() + timedelta(days=2))["failed_24h"] == 0


@pytest.mark.django_db(transaction=True)
def test_browser_admin_adds_a_webhook_copies_the_secret_and_sees_deliveries(
    admin_page,
    tenant,
    receiver,
    settings,
):
    from lumoauth.celery import app

    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        page = admin_page
        page.goto(page.base)
        page.click("nav >> text=Webhooks")
        page.wait_for_url("**/portal/webhooks/")
        assert page.inner_text("h1") == "Webhooks" and "No webhooks yet" in page.content()
        page.fill("input[name=url]", receiver.url)
        page.fill("input[name=description]", "CRM sync")
        page.check("input[value='user.*']")
        page.click("button:has-text('Add webhook')")
        secret = page.inner_text("#webhook-secret")
        assert secret.startswith("whsec_")
        page.click("button[data-copy='#webhook-secret']")
        page.wait_for_selector("button[data-copy='#webhook-secret']:has-text('Copied')")
        assert page.evaluate("navigator.clipboard.readText()") == secret

        page.click("nav >> text=Users")
        page.click("a:has-text('New user')")
        page.fill("input[name=username]", "carol")
        page.fill("input[name=email]", "carol@acme.example")
        page.click("button:has-text('Create user')")
        (request,) = receiver.wait_for(1)
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "user.created" and payload["data"]["target"]["label"] == "carol"

        page.click("nav >> text=Webhooks")
        page.click("a:has-text('Deliveries')")
        row = page.locator("#deliveries tr", has_text="user.created")
        assert "succeeded" in row.inner_text() and "200" in row.inner_text()
        screenshot(page, "webhook-deliveries")
        page.click("nav >> text=Webhooks")
        screenshot(page, "webhooks")
    finally:
        app.conf.task_always_eager = eager
