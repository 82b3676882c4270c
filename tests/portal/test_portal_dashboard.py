"""The dashboard: per-day sign-in counts, health of the signing keys, tenant isolation."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from lumoauth.events.api import record
from portal.views.dashboard import sign_in_days

pytestmark = pytest.mark.django_db


def test_sign_in_days_counts_per_day_for_this_tenant_only(tenant, other_tenant):
    for _ in range(3):
        record("login.succeeded", tenant=tenant)
    record("login.failed", tenant=tenant, outcome="failure")
    record("login.succeeded", tenant=other_tenant)
    record("user.created", tenant=tenant)
    today = timezone.now().date()
    days = sign_in_days(tenant, today)
    assert [d["day"] for d in days] == [today - timedelta(days=n) for n in range(6, -1, -1)]
    assert (days[-1]["ok"], days[-1]["failed"]) == (3, 1)
    assert (days[-1]["ok_pct"], days[-1]["failed_pct"]) == (75, 25)
    assert all(d["ok"] == d["failed"] == 0 for d in days[:-1])
    # A week later, today has left the window.
    assert sum(d["ok"] for d in sign_in_days(tenant, today + timedelta(days=7))) == 0


def test_dashboard_shows_key_health_and_active_sessions(tenant, make_user, sign_in):
    make_user(tenant, "boss", is_tenant_admin=True)
    client = Client()
    sign_in(client, tenant, "boss")
    page = client.get("/t/acme/portal/")
    assert page.status_code == 200
    assert page.context["keys"]["status"] == "ok" and page.context["active_sessions"] == 1
    assert page.context["sign_ins"] == 1
    assert b"Signing keys" in page.content and b"/t/acme/portal/signing-keys/" in page.content


def test_dashboard_shows_webhook_health(tenant, make_user, sign_in):
    from lumoauth.webhooks.subscriptions import create_subscription

    make_user(tenant, "boss", is_tenant_admin=True)
    client = Client()
    sign_in(client, tenant, "boss")
    assert b"no subscriptions." in client.get("/t/acme/portal/").content
    create_subscription(tenant, "https://hooks.example.com/in", ["user.*"])
    page = client.get("/t/acme/portal/")
    assert page.context["webhooks"]["active_subscriptions"] == 1
    assert b"1 active subscription," in page.content and b"/t/acme/portal/webhooks/" in page.content
