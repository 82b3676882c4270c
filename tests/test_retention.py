"""The retention job (lumoauth/retention): rows made by the real flows, clocks moved by updating their
timestamps. What is past its retention and unusable goes, in batches; what is recent, pending or
still usable stays, in every tenant; each run writes one audit event with the counts."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client as BrowserClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lumoauth.events.api import Ref
from lumoauth.events.models import AuditEvent
from lumoauth.retention import api as retention
from lumoauth.retention.tasks import purge
from lumoauth.webhooks.delivery import attempt_delivery
from lumoauth.webhooks.models import Delivery, DeliveryAttempt, OutboxMessage
from lumoauth.webhooks.outbox import write_message
from oauth import retention as oauth_retention
from oauth.ciba import authentications as ciba
from oauth.device import authorizations as device
from oauth.models import (
    AccessToken,
    AuthMethod,
    BackchannelAuthentication,
    Client,
    DeviceGrant,
    Grant,
    GrantType,
    IDToken,
    PushedAuthorizationRequest,
    RefreshToken,
)
from oauth.pushed_requests import claim, push
from oauth.server.validator import checksum
from oauth.services.clients import ClientSpec, create_client
from oauth.tokens.refresh import usable_at
from tenants.models import SignInSession
from tenants.services.sessions import close_session, start_session
from tenants.signin.session import SESSION_KEY
from tests.browser import PASSWORD
from tests.oauth.tokens import REDIRECT_URI, _basic, issue_tokens, refresh, web_client

pytestmark = pytest.mark.django_db

SYSTEM = Ref("system", "", "test")


@pytest.fixture(autouse=True)
def policy(settings):
    settings.LUMOAUTH_RETENTION_WEBHOOK_DAYS = 30
    settings.LUMOAUTH_RETENTION_SESSION_DAYS = 7
    settings.LUMOAUTH_RETENTION_GRACE_HOURS = 24
    settings.LUMOAUTH_RETENTION_BATCH_SIZE = 1000
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = False
    return settings


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def purged() -> dict:
    """Run the job; returns the counts its one new audit event carries."""
    before = AuditEvent.objects.filter(action="retention.purged").count()
    counts = retention.run(actor=SYSTEM)
    events = AuditEvent.objects.filter(action="retention.purged")
    assert events.count() == before + 1
    event = events.first()  # newest
    assert (event.tenant, event.actor_type, event.actor_label, event.outcome) == (None, "system", "test", "success")
    assert event.details["deleted"] == dict(counts) and event.details["total"] == sum(counts.values())
    assert event.details["failed"] == [] and event.details["policy"]["webhook_days"] == 30
    return event.details["deleted"]


def signed_in(tenant, username) -> tuple[BrowserClient, str]:
    """A browser signed in through the hosted page, and the key of its SignInSession."""
    browser = BrowserClient()
    answer = browser.post(f"/t/{tenant.slug}/login", {"identifier": username, "password": PASSWORD})
    assert answer.status_code == 302
    return browser, browser.session[SESSION_KEY][str(tenant.pk)]["key"]


def is_signed_in(browser, tenant) -> bool:
    return browser.get(f"/t/{tenant.slug}/account").status_code == 200


# ---- sign-in sessions and browser sessions ------------------------------------------------------
def test_ended_and_long_idle_sign_ins_go_open_and_recent_ones_stay(tenant, other_tenant, alice, make_user, settings):
    make_user(other_tenant, "bob")
    ended_long_ago, ended_recently, idle, quiet, active = (signed_in(tenant, "alice") for _ in range(5))
    bobs_ended, bobs_active = signed_in(other_tenant, "bob"), signed_in(other_tenant, "bob")
    for (browser, _key), where in ((ended_long_ago, tenant), (ended_recently, tenant), (bobs_ended, other_tenant)):
        browser.post(f"/t/{where.slug}/logout")
    SignInSession.objects.filter(key__in=[ended_long_ago[1], bobs_ended[1]]).update(ended_at=ago(days=8))
    SignInSession.objects.filter(key=ended_recently[1]).update(ended_at=ago(days=6))
    cookie_age = settings.SESSION_COOKIE_AGE
    SignInSession.objects.filter(key=idle[1]).update(last_seen_at=ago(days=7, seconds=cookie_age + 60))
    SignInSession.objects.filter(key=quiet[1]).update(last_seen_at=ago(days=6, seconds=cookie_age))
    # The idle browser's own session has expired (Django would not load it any more).
    Session.objects.filter(session_key=idle[0].session.session_key).update(expire_date=ago(minutes=1))
    expired_browser_sessions = Session.objects.filter(expire_date__lt=timezone.now()).count()

    counts = purged()

    assert counts["tenants.SignInSession"] == 3
    assert counts["sessions.Session"] == expired_browser_sessions >= 1
    left = set(SignInSession.objects.values_list("key", flat=True))
    assert left == {ended_recently[1], quiet[1], active[1], bobs_active[1]}
    # The quiet sign-in's row is kept (the portal's history), but it signs in no more: idle too long.
    assert is_signed_in(active[0], tenant) and not is_signed_in(quiet[0], tenant)
    assert is_signed_in(bobs_active[0], other_tenant)


def test_batches_are_small_transactions(tenant, alice, settings):
    settings.LUMOAUTH_RETENTION_BATCH_SIZE = 2
    for _ in range(5):
        close_session(start_session(tenant, alice, amr=["pwd"]).key)
    SignInSession.objects.update(ended_at=ago(days=8))
    keep = start_session(tenant, alice, amr=["pwd"])
    with CaptureQueriesContext(connection) as queries:
        counts = purged()
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "tenants_signinsession"')]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert counts["tenants.SignInSession"] == 5
    assert list(SignInSession.objects.all()) == [keep]


# ---- webhook outbox ------------------------------------------------------------------------------
def _email(tenant) -> Delivery:
    (delivery,) = write_message(
        tenant.pk, "notification.test", {"data": {"subject": "Hi", "text": "Hello"}}, email_recipients=["a@x.test"]
    )
    return delivery


def _age(delivery: Delivery, **delta) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(created_at=ago(**delta), last_attempt_at=ago(**delta))
    OutboxMessage.objects.filter(pk=delivery.message_id).update(created_at=ago(**delta))


def test_finished_deliveries_go_after_their_retention_pending_ones_never(tenant, other_tenant, settings):
    settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = []  # the first failed attempt fails the delivery
    succeeded = _email(tenant)
    assert attempt_delivery(succeeded.pk) == "succeeded"
    # A callback to a loopback address: refused by the outbound policy, so it fails.
    (failed,) = write_message(tenant.pk, "ciba.ping", {"x": 1}, callback=("https://127.0.0.1/cb", "token"))
    assert attempt_delivery(failed.pk) == "failed"
    recent = _email(tenant)
    assert attempt_delivery(recent.pk) == "succeeded"
    never_attempted = _email(other_tenant)  # pending, however old
    (done, waiting) = write_message(
        tenant.pk, "notification.test", {"data": {}}, email_recipients=["a@x.test", "b@x.test"]
    )
    assert attempt_delivery(done.pk) == "succeeded"
    for delivery in (succeeded, failed, never_attempted, done):
        _age(delivery, days=31)
    Delivery.objects.filter(pk=waiting.pk).update(created_at=ago(days=31))

    dry = retention.run(actor=SYSTEM, dry_run=True)
    counts = purged()

    assert counts["webhooks.Delivery"] == dry["webhooks.Delivery"] == 3
    assert counts["webhooks.DeliveryAttempt"] == dry["webhooks.DeliveryAttempt"] == 3
    assert counts["webhooks.OutboxMessage"] == 2  # the messages whose deliveries all went
    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, never_attempted.pk, waiting.pk}
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {
        recent.message_id,
        never_attempted.message_id,
        waiting.message_id,
    }
    assert DeliveryAttempt.objects.get().delivery_id == recent.pk


# ---- tokens and codes ------------------------------------------------------------------------------
def _client_credentials_token(tenant, client, secret) -> str:
    answer = BrowserClient().post(
        f"/t/{tenant.slug}/api/v1/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(client, secret),
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["access_token"]


def _family(token: str):
    return RefreshToken.objects.get(token_checksum=checksum(token)).token_family


def test_dead_token_families_and_what_they_hold_go_usable_ones_stay(tenant, other_tenant, alice, make_user):
    make_user(other_tenant, "bob")
    client, secret = web_client(tenant)
    other_client, other_secret = web_client(other_tenant)
    service, service_secret = create_client(
        tenant,
        ClientSpec(
            name="Service", grant_types=[GrantType.CLIENT_CREDENTIALS], token_endpoint_auth_method="client_secret_basic"
        ),
    )
    live = issue_tokens(tenant, client, secret, "alice")
    rotated = refresh(tenant, client, secret, live["refresh_token"]).json()
    dead = issue_tokens(tenant, client, secret, "alice")
    refresh(tenant, client, secret, dead["refresh_token"])
    bobs = issue_tokens(other_tenant, other_client, other_secret, "bob")
    just_expired = _client_credentials_token(tenant, service, service_secret)
    long_expired = _client_credentials_token(tenant, service, service_secret)

    # Every access token, ID token and code expired two days ago: what stays, stays for a reason.
    AccessToken.objects.update(expires=ago(days=2))
    IDToken.objects.update(expires=ago(days=2))
    Grant.objects.update(expires=ago(days=2))
    AccessToken.objects.filter(token_checksum=checksum(just_expired)).update(expires=ago(hours=1))  # within grace
    # The live family's first token was rotated days ago; its successor is usable.
    live_family, dead_family = _family(rotated["refresh_token"]), _family(dead["refresh_token"])
    RefreshToken.objects.filter(token_family=live_family, revoked__isnull=False).update(
        created=ago(days=5), revoked=ago(days=5)
    )
    # The dead family: every member past the client's lifetime (30 days) plus the grace.
    RefreshToken.objects.filter(token_family=dead_family).update(created=ago(days=32))
    RefreshToken.objects.filter(token_family=dead_family, revoked__isnull=False).update(revoked=ago(days=31))
    doomed_refresh = RefreshToken.objects.filter(token_family=dead_family).count()
    assert doomed_refresh == 2

    counts = purged()

    assert counts["oauth.RefreshToken"] == doomed_refresh
    assert not RefreshToken.objects.filter(token_family=dead_family).exists()
    assert RefreshToken.objects.filter(token_family=live_family).count() == 2
    assert RefreshToken.objects.filter(tenant=other_tenant).count() == 1
    # What is left is exactly what the remaining refresh tokens hold on to.
    bound = set(RefreshToken.objects.exclude(access_token=None).values_list("access_token_id", flat=True))
    recent = set(AccessToken.objects.filter(token_checksum=checksum(just_expired)).values_list("pk", flat=True))
    assert set(AccessToken.objects.values_list("pk", flat=True)) == bound | recent
    assert not AccessToken.objects.filter(token_checksum=checksum(long_expired)).exists()
    assert set(IDToken.objects.values_list("pk", flat=True)) == set(
        AccessToken.objects.exclude(id_token=None).values_list("id_token_id", flat=True)
    )
    held = set(AccessToken.objects.values_list("grant_id", flat=True)) | set(
        RefreshToken.objects.values_list("grant_id", flat=True)
    )
    assert set(Grant.objects.values_list("pk", flat=True)) == held - {None}
    assert Grant.objects.filter(tenant=tenant).count() == 1 and Grant.objects.filter(tenant=other_tenant).count() == 1
    assert counts["oauth.Grant"] == 1  # the dead family's code; the live family's stays for replay detection

    # Reuse detection still works: the live family's rotated-away token revokes the whole family.
    assert refresh(tenant, client, secret, live["refresh_token"]).status_code == 400
    assert refresh(tenant, client, secret, rotated["refresh_token"]).status_code == 400
    # Bob's tokens in the other tenant were never touched.
    assert refresh(other_tenant, other_client, other_secret, bobs["refresh_token"]).status_code == 200


def test_refresh_lifetimes_are_per_client_and_one_set_meanwhile_keeps_its_tokens(tenant, alice):
    client, secret = create_client(
        tenant,
        ClientSpec(
            name="Long-lived",
            grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
            redirect_uris=[REDIRECT_URI],
            refresh_token_lifetime=90 * 86400,
        ),
    )
    issued = issue_tokens(tenant, client, secret, "alice")
    RefreshToken.objects.update(created=ago(days=60))  # past the default 30 days, within this client's 90
    assert oauth_retention.refresh_tokens(timezone.now())["oauth.RefreshToken"] == 0
    # A lifetime the run has not seen (an admin changes it while the run goes): still kept.
    usable = RefreshToken.objects.filter(usable_at(ago(hours=24)))
    client.refresh_token_lifetime = 86400
    client.save()
    assert usable.exists()
    assert refresh(tenant, client, secret, issued["refresh_token"]).status_code == 400  # expired under 1 day...
    assert oauth_retention.refresh_tokens(timezone.now())["oauth.RefreshToken"] == 1  # ...and the next run sees it


# ---- device authorizations, CIBA requests, pushed authorization requests -------------------------
def test_expired_device_ciba_and_par_rows_go_pending_ones_stay_usable(tenant, alice):
    tv, _ = create_client(
        tenant,
        ClientSpec(
            name="TV",
            client_type=Client.CLIENT_PUBLIC,
            grant_types=[GrantType.DEVICE_CODE],
            token_endpoint_auth_method=AuthMethod.NONE,
        ),
    )
    old, grace, pending = (device.start(tv, ["openid"]) for _ in range(3))
    DeviceGrant.objects.filter(device_code=device.device_code_digest(old.device_code)).update(expires=ago(hours=25))
    DeviceGrant.objects.filter(device_code=device.device_code_digest(grace.device_code)).update(expires=ago(hours=1))

    desk, _ = create_client(
        tenant,
        ClientSpec(
            name="Desk",
            grant_types=[GrantType.CIBA],
            allowed_scopes="openid",
            backchannel_token_delivery_mode="poll",
        ),
    )

    def request_approval():
        return ciba.start(
            desk, alice, ["openid"], expires_in=300, notification_token=None, approval_url=lambda a: "https://x.test/"
        ).authentication

    expired, waiting = request_approval(), request_approval()
    BackchannelAuthentication.objects.filter(pk=expired.pk).update(expires=ago(hours=25))

    web, _ = web_client(tenant)
    *_, fresh = (push(web, {"client_id": web.client_id, "scope": "openid"}) for _ in range(3))
    stale, claimed, unused = PushedAuthorizationRequest.objects.filter(client=web).order_by("pk")
    PushedAuthorizationRequest.objects.filter(pk=stale.pk).update(expires_at=ago(hours=24, minutes=11))
    # Expired a grace ago, but less than CLAIMED_SECONDS more: a browser that claimed it in time
    # could have come back with it until just within the grace.
    PushedAuthorizationRequest.objects.filter(pk=claimed.pk).update(
        expires_at=ago(hours=24, minutes=9), claimed_at=ago(hours=24, minutes=10)
    )

    counts = purged()

    assert counts["oauth.DeviceGrant"] == 1
    assert device.pending(tenant, pending.user_code.replace("-", "")) is not None
    assert DeviceGrant.objects.count() == 2
    assert counts["oauth.BackchannelAuthentication"] == 1
    assert list(BackchannelAuthentication.objects.all()) == [waiting] and ciba.is_pending(waiting)
    assert counts["oauth.PushedAuthorizationRequest"] == 1
    assert set(PushedAuthorizationRequest.objects.values_list("pk", flat=True)) == {claimed.pk, unused.pk}
    assert claim(tenant, web.client_id, fresh.request_uri, {}).pk == unused.pk


# ---- the command, the task, failures --------------------------------------------------------------
def test_the_command_dry_run_deletes_nothing_then_purges(tenant, alice):
    close_session(start_session(tenant, alice, amr=["pwd"]).key)
    SignInSession.objects.update(ended_at=ago(days=8))
    out = io.StringIO()
    call_command("purge", "--dry-run", stdout=out)
    assert re.search(r"^tenants\.SignInSession +1$", out.getvalue(), re.M) and "rows would be deleted" in out.getvalue()
    assert SignInSession.objects.count() == 1
    assert not AuditEvent.objects.filter(action="retention.purged").exists()

    out = io.StringIO()
    call_command("purge", stdout=out)
    assert not SignInSession.objects.exists()
    event = AuditEvent.objects.get(action="retention.purged")
    assert (event.actor_type, event.actor_label) == ("system", "manage.py purge")
    assert event.details["deleted"]["tenants.SignInSession"] == 1
    assert "deleted" in out.getvalue()


def test_the_daily_task_is_scheduled_and_audited(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["retention-purge"]
    assert schedule["task"] == purge.name == "lumoauth.retention.purge"
    assert purge.apply().get() == 0
    event = AuditEvent.objects.get(action="retention.purged")
    assert event.actor_label == "daily purge (Celery beat)" and event.details["total"] == 0
    assert "oauth.RefreshToken" in event.details["deleted"]  # every kind is reported, zeros included


def test_a_failing_purge_is_audited_and_the_others_still_run(tenant, alice, monkeypatch):
    def broken(now, *, dry_run=False):
        raise RuntimeError("boom")

    monkeypatch.setattr(retention, "_purgers", [*retention._purgers, (0, broken)])
    close_session(start_session(tenant, alice, amr=["pwd"]).key)
    SignInSession.objects.update(ended_at=ago(days=8))
    with pytest.raises(retention.PurgeFailed, match="broken"):
        retention.run(actor=SYSTEM)
    assert not SignInSession.objects.exists()
    event = AuditEvent.objects.get(action="retention.purged")
    assert event.outcome == "failure" and event.details["failed"] == [f"{__name__}.broken"]
    assert event.details["deleted"]["tenants.SignInSession"] == 1
