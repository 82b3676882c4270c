"""The outbox is written with the change (or not at all) and delivered in-process after commit when
there is no broker: signed per Standard Webhooks (verified by the `standardwebhooks` library),
retried on failure, never breaking the change that caused it."""

import io
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook

from lumoauth.events.api import AuditEvent, Ref, record
from lumoauth.webhooks.catalogue import event_types_for, matches, pattern_errors
from lumoauth.webhooks.models import Delivery, DeliveryAttempt, OutboxMessage
from lumoauth.webhooks.routing import subscribers
from lumoauth.webhooks.subscriptions import redeliver, update_subscription
from lumoauth.webhooks.sweep import sweep
from tenants.services.groups import add_member, create_group
from tenants.services.users import update_user

pytestmark = pytest.mark.django_db

ADMIN = Ref("user", "1", "boss")


def _delivered(receiver, secret, count=1) -> list[dict]:
    """The receiver's requests, each verified by the third-party Standard Webhooks library."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.wait_for(count, timeout=5)]


def test_a_change_is_delivered_signed_after_commit(
    tenant, make_user, subscribe, receiver, eager, django_capture_on_commit_callbacks
):
    subscription, secret = subscribe(tenant, receiver.url, ["user.created"])
    assert secret.startswith("whsec_")
    with django_capture_on_commit_callbacks(execute=True):
        make_user(tenant, "alice")
        assert receiver.requests == []  # nothing leaves before the transaction commits
    (payload,) = _delivered(receiver, secret)
    assert payload["type"] == "user.created"
    assert payload["data"]["tenant"]["slug"] == "acme"
    assert payload["data"]["target"]["label"] == "alice"
    assert payload["data"]["details"]["email"] == "alice@acme.example"
    request = receiver.requests[0]
    message = OutboxMessage.objects.get(tenant=tenant)
    assert request.headers["webhook-id"] == str(message.event_id)
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["Content-Type"] == "application/json"
    delivery = Delivery.objects.get(message=message)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert (attempt.number, attempt.status_code, attempt.response_excerpt, attempt.error) == (1, 200, "thanks", "")
    # A signature made with another secret does not verify.
    other = Webhook("whsec_" + "A" * 43 + "=")
    with pytest.raises(Exception, match="signature"):
        other.verify(request.body, request.headers)


def test_a_change_that_rolls_back_leaves_no_outbox_row(tenant, make_user, subscribe, receiver, eager):
    subscribe(tenant, receiver.url, ["user.*"])
    with pytest.raises(RuntimeError), transaction.atomic():
        make_user(tenant, "alice")
        assert OutboxMessage.objects.filter(tenant=tenant).count() == 1  # written with the change...
        raise RuntimeError("the change fails")
    assert not OutboxMessage.objects.exists() and not Delivery.objects.exists()  # ...and gone with it
    assert not AuditEvent.objects.filter(action="user.created").exists()


def test_nothing_is_written_without_a_subscription_and_it_costs_no_query(
    tenant, other_tenant, subscribe, receiver, django_assert_num_queries
):
    subscribe(other_tenant, receiver.url, ["*"])
    assert subscribers(tenant.pk, "login.succeeded") == []  # memoised now
    with django_assert_num_queries(1):  # the audit INSERT only: the token endpoint pays nothing more
        record("login.succeeded", tenant=tenant, actor=ADMIN)
    assert not OutboxMessage.objects.filter(tenant=tenant).exists()


def test_matching_families_and_opt_in_events():
    assert matches(["user.*"], "user.created") and not matches(["user.*"], "group.created")
    assert matches(["*"], "token.revoked") and matches(["token.*"], "token.revoked")
    # token.issued is opt-in: only a subscription naming it gets it.
    assert not matches(["*"], "token.issued") and not matches(["token.*"], "token.issued")
    assert matches(["token.issued"], "token.issued")
    assert event_types_for("oauth.token.issued") == ["token.issued"]
    # So is token.exchanged (agent chains can be as chatty as the token endpoint).
    assert not matches(["*"], "token.exchanged") and matches(["token.exchanged"], "token.exchanged")
    assert event_types_for("oauth.token.exchanged") == ["token.exchanged"]
    assert event_types_for("oauth.ciba.approved") == ["ciba.approved"] and matches(["*"], "ciba.denied")
    assert event_types_for("oauth.device.denied") == ["device.denied"]
    assert event_types_for("user.created", "scim_token") == ["user.created", "scim.user.created"]
    assert event_types_for("oauth.userinfo.read") == []
    assert pattern_errors(["user.*", "scim.user.*", "login.failed", "*"]) == []
    for bad in (["user.creatd"], ["nope.*"], [], ["user.created\x00"], [5], "user.*", ["USER.*"]):
        assert pattern_errors(bad), bad


def test_only_matching_subscriptions_receive(tenant, make_user, subscribe, receiver, eager):
    _, everything = subscribe(tenant, receiver.url, ["*"])
    groups_only, _ = subscribe(tenant, receiver.url, ["group.*", "membership.added"])
    tokens, _ = subscribe(tenant, receiver.url, ["token.issued"])
    user = make_user(tenant, "alice")
    group = create_group(tenant, "Admins")
    add_member(group, user)
    record("oauth.token.issued", tenant=tenant, actor=ADMIN)
    record("oauth.userinfo.read", tenant=tenant, actor=ADMIN)  # not in the catalogue
    types = dict.fromkeys(OutboxMessage.objects.filter(tenant=tenant).values_list("event_type", flat=True))
    # The "*" subscription also saw the other two being created (admin changes are events too).
    assert list(types) == ["webhook.created", "user.created", "group.created", "membership.added", "token.issued"]
    assert sorted(Delivery.objects.filter(subscription=groups_only).values_list("message__event_type", flat=True)) == [
        "group.created",
        "membership.added",
    ]
    assert list(Delivery.objects.filter(subscription=tokens).values_list("message__event_type", flat=True)) == [
        "token.issued"
    ]


def test_scim_changes_are_also_provisioning_events(tenant, subscribe, receiver):
    subscription, _ = subscribe(tenant, receiver.url, ["scim.*"])
    record("user.created", tenant=tenant, actor=Ref("scim_token", "7", "Okta"), target=Ref("user", "9", "bob"))
    record("user.created", tenant=tenant, actor=ADMIN, target=Ref("user", "10", "carol"))
    assert list(Delivery.objects.filter(subscription=subscription).values_list("message__event_type", flat=True)) == [
        "scim.user.created"
    ]


def test_a_change_of_subscription_takes_effect_at_once(tenant, make_user, subscribe, receiver):
    subscription, _ = subscribe(tenant, receiver.url, ["group.*"])
    assert subscribers(tenant.pk, "user.created") == []
    update_subscription(subscription, event_types=["user.created"], actor=ADMIN)
    assert subscribers(tenant.pk, "user.created") == [subscription.pk]
    update_subscription(subscription, active=False, actor=ADMIN)
    make_user(tenant, "alice")
    assert not Delivery.objects.filter(message__event_type="user.created").exists()


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_is_down_does_not_break_the_request(tenant, make_user, subscribe, eager, client):
    subscription, _ = subscribe(tenant, "http://127.0.0.1:9/down", ["user.*"])  # the discard port: refused
    make_user(tenant, "boss", is_tenant_admin=True)
    assert client.post("/t/acme/login", {"identifier": "boss", "password": "correct-horse-battery"}).status_code == 302
    answer = client.post("/t/acme/portal/users/new", {"username": "alice", "email": "alice@acme.example"})
    assert answer.status_code == 302  # the user was created; the delivery was attempted after commit
    delivery = Delivery.objects.filter(subscription=subscription).select_related("message").latest("pk")
    assert delivery.message.payload["data"]["target"]["label"] == "alice"
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error == "connection failed" and delivery.next_attempt_at > timezone.now()


def test_retries_until_the_receiver_answers_2xx(tenant, make_user, subscribe, receiver, eager, instant_retries):
    receiver.respond((500, 0, b"database down"), (503, 0, b""))
    subscription, secret = subscribe(tenant, receiver.url, ["user.created"])
    make_user(tenant, "alice")
    delivery = Delivery.objects.get(subscription=subscription)
    later = timezone.now() + timedelta(minutes=10)
    for _ in range(3):
        sweep(now=later)  # in-process mode: retries come from the sweep
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    log = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code) for a in log] == [(1, 500), (2, 503), (3, 200)]
    assert log[0].response_excerpt == "database down" and log[0].error == "The receiver answered 500."
    payloads = _delivered(receiver, secret, 3)
    assert len({json.dumps(p) for p in payloads}) == 1  # the same event each time
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # with the same id


def test_gives_up_after_the_schedule_then_redelivers(tenant, make_user, subscribe, receiver, eager, settings):
    settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = [0]
    receiver.respond((500, 0, b"no"), (500, 0, b"still no"))
    failed_before = REGISTRY.get_sample_value("lumoauth_webhook_deliveries_total", {"outcome": "failed"}) or 0
    subscription, _ = subscribe(tenant, receiver.url, ["user.created"])
    make_user(tenant, "alice")
    sweep(now=timezone.now() + timedelta(minutes=10))  # attempt 1: 500, retry at once
    sweep(now=timezone.now() + timedelta(minutes=10))  # attempt 2: 500, the schedule is over
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert sweep(now=timezone.now() + timedelta(days=2)) == 0  # failed deliveries are not retried by the sweep
    assert REGISTRY.get_sample_value("lumoauth_webhook_deliveries_total", {"outcome": "failed"}) == failed_before + 1
    redeliver(delivery, actor=ADMIN)
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    sweep(now=timezone.now() + timedelta(minutes=10))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    event = AuditEvent.objects.get(action="webhook.redelivered")
    assert event.details["delivery"] == delivery.pk and event.actor_label == "boss"


def test_timeouts_and_response_size_are_bounded(tenant, make_user, subscribe, receiver, eager, instant_retries):
    instant_retries.LUMOAUTH_WEBHOOK_TIMEOUT = 0.5
    receiver.respond((200, 2.0, b"too late"), (200, 0, b"x" * 5000))
    subscription, _ = subscribe(tenant, receiver.url, ["user.created"])
    make_user(tenant, "alice")
    delivery = Delivery.objects.get(subscription=subscription)
    sweep(now=timezone.now() + timedelta(minutes=10))
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.last_error == "timed out after 0.5s"
    sweep(now=timezone.now() + timedelta(minutes=20))
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    latest = DeliveryAttempt.objects.filter(delivery=delivery).first()
    assert latest.response_excerpt == "x" * 1024  # at most 1 KB of the answer is kept (or read)


def test_ssrf_targets_are_refused_at_delivery(tenant, make_user, subscribe, receiver, eager, settings):
    subscription, _ = subscribe(tenant, receiver.url, ["user.created"])
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = False  # the operator did not allow private addresses
    make_user(tenant, "alice")
    sweep(now=timezone.now() + timedelta(minutes=10))
    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.attempts == 1 and delivery.status == "pending"
    assert delivery.last_error.startswith("Refused by the outbound policy: 127.0.0.1 resolves to 127.0.0.1")
    assert receiver.requests == []


def test_an_update_and_a_membership_are_published(tenant, make_user, subscribe, receiver, eager):
    _, secret = subscribe(tenant, receiver.url, ["user.updated", "membership.*"])
    user = make_user(tenant, "alice")
    update_user(user, given_name="Alice", actor=ADMIN)
    add_member(create_group(tenant, "Staff"), user, actor=ADMIN)
    sweep(now=timezone.now() + timedelta(minutes=10))
    payloads = _delivered(receiver, secret, 2)
    by_type = {p["type"]: p["data"] for p in payloads}
    assert by_type["user.updated"]["details"] == {"fields": ["given_name"]}
    assert by_type["membership.added"]["details"]["user"]["label"] == "alice"
    assert by_type["membership.added"]["actor"] == {"type": "user", "id": "1", "label": "boss"}


def test_queue_metrics_are_read_at_scrape_time(tenant, make_user, subscribe, receiver):
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    subscription, _ = subscribe(tenant, receiver.url, ["user.created"])
    make_user(tenant, "alice")  # never committed: stays pending
    Delivery.objects.filter(subscription=subscription).update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    def scrape() -> dict:
        families = text_string_to_metric_families(generate_latest(REGISTRY).decode())
        return {s.name: s.value for f in families for s in f.samples if s.name.startswith("lumoauth_webhook_")}

    samples = scrape()
    assert samples["lumoauth_webhook_pending_deliveries"] == 1
    assert 290 <= samples["lumoauth_webhook_queue_lag_seconds"] < 400
    Delivery.objects.update(status="succeeded")
    samples = scrape()
    assert samples["lumoauth_webhook_pending_deliveries"] == 0 and samples["lumoauth_webhook_queue_lag_seconds"] == 0


def test_the_sweep_command_sends_what_is_due(tenant, make_user, subscribe, receiver, eager, settings):
    from django.core.management import call_command

    subscription, secret = subscribe(tenant, receiver.url, ["user.created"])
    make_user(tenant, "alice")
    settings.LUMOAUTH_WEBHOOK_REQUEUE_AFTER = 0
    out = io.StringIO()
    call_command("webhooks_sweep", stdout=out)
    assert out.getvalue() == "1 deliveries queued\n"
    _delivered(receiver, secret)
    assert Delivery.objects.get(subscription=subscription).status == "succeeded"


def test_every_family_is_shown_in_a_category():
    """The portal lists event types by category: none may be left out."""
    from lumoauth.webhooks.catalogue import CATEGORIES, EVENT_TYPES

    shown = {family for _, families in CATEGORIES for family in families}
    assert {t.split(".")[0] for t in EVENT_TYPES} == shown


def test_admin_changes_of_federation_and_token_exchange_are_published(tenant, subscribe, receiver):
    """Every admin change is an event: OIDC connections, claimed domains, trusted issuers too."""
    from oauth.federation.services import create_connection
    from oauth.models import SubjectMatch
    from oauth.services.trusted_issuers import TrustedIssuerSpec, create_trusted_issuer
    from tenants.domains.claims import claim_domain

    subscription, _ = subscribe(tenant, receiver.url, ["oidc.*", "domain.*", "trusted_issuer.*"])
    create_connection(tenant, slug="gh", name="GitHub", preset="github", client_id="id", client_secret="s", actor=ADMIN)
    claim_domain(tenant, "acme.example", actor=ADMIN)
    create_trusted_issuer(
        tenant,
        TrustedIssuerSpec(
            name="Agents",
            issuer="https://agents.example",
            jwks_uri="https://agents.example/jwks",
            subject_match=SubjectMatch.NONE,
        ),
        actor=ADMIN,
    )
    types = list(Delivery.objects.filter(subscription=subscription).values_list("message__event_type", flat=True))
    assert sorted(types) == ["domain.claimed", "oidc.connection.created", "trusted_issuer.created"]
