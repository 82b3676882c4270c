# ruff: noqa: F811 - the shared fixtures imported below are parameters of the tests
"""CIBA (OpenID CIBA Core 1.0) over real HTTP: requests as the consumption device's backend, Authlib
fetching the tokens, a real Celery worker on a real redis-server delivering the user's notification
(signed webhook, or email) and the ping callback to a real HTTP receiver, the approval page in
headless Chromium or driven with requests, tokens verified by joserfc against the published JWKS."""

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from lumoauth.events.models import AuditEvent
from lumoauth.webhooks.models import Delivery
from lumoauth.webhooks.secrets import decrypt_credential
from oauth.models import BackchannelAuthentication, GrantType
from tests.browser import PASSWORD, Browser
from tests.portal.conftest import chromium, screenshot  # noqa: F401 (the shared headless Chromium fixture)
from tests.webhooks.conftest import (  # noqa: F401 (the real receiver, redis-server and Celery worker; their dependencies)
    allow_private,
    celery_app,
    celery_worker,
    eager,
    receiver,
    redis_server,
    subscribe,
)

from .ciba_support import (  # noqa: F401 (fixtures)
    CIBA,
    approval_url_of,
    assert_error,
    bc_endpoint,
    ciba_client,
    delivered,
    open_approval,
    ping_client,
    poll,
    start,
    started,
    waited,
)
from .conftest import verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)


# ---- discovery ------------------------------------------------------------------------------------
def test_discovery_advertises_ciba(endpoints, issuer):
    document = requests.get(endpoints["discovery"], timeout=10).json()
    assert document["backchannel_authentication_endpoint"] == f"{issuer}/oauth/bc-authorize"
    assert document["backchannel_token_delivery_modes_supported"] == ["poll", "ping"]
    assert document["backchannel_user_code_parameter_supported"] is False
    assert CIBA in document["grant_types_supported"]
    assert "backchannel_authentication_request_signing_alg_values_supported" not in document


# ---- poll mode, end to end -----------------------------------------------------------------------
def test_poll_mode_with_the_worker_notifying_and_the_user_approving_in_a_browser(
    chromium,  # noqa: F811
    tenant,
    alice,
    issuer,
    endpoints,
    bc_endpoint,
    ciba_client,
    subscribe,  # noqa: F811
    receiver,  # noqa: F811
    celery_worker,  # noqa: F811
):
    channel, secret = subscribe(tenant, receiver.url, [], notification_channel=True)
    celery_worker.start()
    answer = started(bc_endpoint, ciba_client, binding_message="W4SCT", requested_expiry="120")
    assert answer["expires_in"] == 120 and answer["interval"] == 5 and len(answer["auth_req_id"]) >= 43
    # Only the hash of the auth_req_id is stored.
    assert not BackchannelAuthentication.objects.filter(auth_req_id=answer["auth_req_id"]).exists()

    # The worker delivers the notification to the tenant's notification webhook, signed.
    (notification,) = receiver.wait_for(1)
    payload = Webhook(secret).verify(notification.body, notification.headers)
    assert payload["type"] == "notification.ciba.authentication_requested"
    data = payload["data"]
    assert data["binding_message"] == "W4SCT" and data["user"]["username"] == "alice"
    assert data["client"] == {"client_id": ciba_client.client_id, "name": "Call centre"}
    assert "auth_req_id" not in json.dumps(data) and answer["auth_req_id"] not in notification.body.decode()
    delivered(celery_worker, 1)
    assert_error(poll(endpoints, ciba_client, answer["auth_req_id"]), "authorization_pending")

    context = chromium.new_context()
    page = context.new_page()
    page.goto(data["approval_url"])
    page.fill("input[name=identifier]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/ciba/{data['request_id']}")
    assert page.inner_text("#binding-message") == "W4SCT"  # compare with the consumption device
    assert "Call centre" in page.inner_text("h1")
    screenshot(page, "ciba-approve")
    page.click("button[value=approve]")
    page.wait_for_selector("text=Sign-in approved")
    context.close()

    waited()
    session = OAuth2Session(ciba_client.client_id, ciba_client.secret)
    token = session.fetch_token(endpoints["token"], grant_type=CIBA, auth_req_id=answer["auth_req_id"])
    assert token["token_type"] == "Bearer" and "refresh_token" not in token  # no refresh_token grant
    assert set(token["scope"].split()) == {"openid", "profile"}
    id_token = verify_jwt(
        token["id_token"], endpoints["jwks"], iss=issuer, aud=ciba_client.client_id, sub=str(alice.sub)
    )
    assert id_token.claims["auth_time"] and "pwd" in id_token.claims["amr"]
    access = verify_jwt(token["access_token"], endpoints["jwks"], iss=issuer, sub=str(alice.sub))
    assert access.claims["client_id"] == ciba_client.client_id
    userinfo = requests.get(
        endpoints["userinfo"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
    )
    assert userinfo.json()["sub"] == str(alice.sub)

    # Single use.
    waited()
    assert_error(poll(endpoints, ciba_client, answer["auth_req_id"]), "invalid_grant")
    actions = list(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
    for action in (
        "oauth.ciba.requested",
        "notification.queued",
        "oauth.ciba.approved",
        "consent.granted",
        "oauth.token.issued",
    ):
        assert action in actions
    requested = AuditEvent.objects.get(action="oauth.ciba.requested")
    assert requested.actor_id == ciba_client.client_id and requested.target_id == str(alice.pk)
    assert requested.details["binding_message"] == "W4SCT" and requested.details["notified_by"] == "webhook"


# ---- ping mode, end to end -----------------------------------------------------------------------
def test_ping_mode_with_email_notification_and_the_ping_callback(
    tenant,
    alice,
    live_server,
    issuer,
    endpoints,
    bc_endpoint,
    make_client,
    allow_private,  # noqa: F811
    receiver,  # noqa: F811
    celery_worker,  # noqa: F811
):
    client = ping_client(tenant, make_client, f"{receiver.url}/ciba/ping")
    celery_worker.start()
    answer = started(
        bc_endpoint,
        client,
        scope="openid profile offline_access",
        login_hint="alice@acme.example",
        client_notification_token="8d67dc78-7faa-4d41-aabd-67707b374255",
    )
    # No notification webhook: the worker emails the user the approval link.
    delivered(celery_worker, 1)
    (message,) = mail.outbox
    assert message.to == ["alice@acme.example"] and "Point of sale" in message.subject
    url = re.search(r"https?://\S+/ciba/[0-9a-f-]{36}", message.body).group(0)
    assert urlsplit(url).path == f"/t/{tenant.slug}/ciba/{BackchannelAuthentication.objects.get().uid}"

    # A ping client may still poll (and is told to wait).
    assert_error(poll(endpoints, client, answer["auth_req_id"]), "authorization_pending")
    assert receiver.requests == []
    done = Browser(live_server.url).go(url, consent="approve")
    assert "Sign-in approved" in done.text

    # CIBA Core §10.2: the ping, with the client_notification_token as bearer, through the worker.
    (ping,) = receiver.wait_for(1)
    assert ping.path == urlsplit(f"{receiver.url}/ciba/ping").path
    assert ping.headers["Authorization"] == "Bearer 8d67dc78-7faa-4d41-aabd-67707b374255"
    assert ping.headers["Content-Type"] == "application/json"
    assert json.loads(ping.body) == {"auth_req_id": answer["auth_req_id"]}
    delivered(celery_worker, 2)

    waited()
    session = OAuth2Session(client.client_id, client.secret)
    token = session.fetch_token(endpoints["token"], grant_type=CIBA, auth_req_id=answer["auth_req_id"])
    assert token["refresh_token"]  # offline_access and the refresh_token grant
    verify_jwt(token["id_token"], endpoints["jwks"], iss=issuer, aud=client.client_id, sub=str(alice.sub))
    refreshed = session.refresh_token(endpoints["token"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    approved = AuditEvent.objects.get(action="oauth.ciba.approved")
    assert approved.details["ping"] is True and approved.actor_id == str(alice.pk)


def test_a_denial_is_pinged_and_then_access_denied(
    tenant,
    alice,
    live_server,
    endpoints,
    bc_endpoint,
    make_client,
    allow_private,
    receiver,
    celery_worker,  # noqa: F811
):
    client = ping_client(tenant, make_client, f"{receiver.url}/cb")
    celery_worker.start()
    answer = started(bc_endpoint, client, client_notification_token="tok-1")
    delivered(celery_worker, 1)  # the email to alice
    authentication = BackchannelAuthentication.objects.get()
    done = Browser(live_server.url).go(approval_url_of(authentication, live_server), consent="deny")
    assert "Sign-in denied" in done.text
    (ping,) = receiver.wait_for(1)
    assert json.loads(ping.body) == {"auth_req_id": answer["auth_req_id"]}
    delivered(celery_worker, 2)
    assert_error(poll(endpoints, client, answer["auth_req_id"]), "access_denied")
    assert AuditEvent.objects.filter(action="oauth.ciba.denied", outcome="denied").exists()


def test_the_ping_obeys_the_outbound_policy(tenant, alice, live_server, bc_endpoint, make_client, eager):
    """A notification endpoint on a private address is not called unless the operator allows it (SSRF)."""
    client = ping_client(tenant, make_client, "http://127.0.0.1:9/cb")
    started(bc_endpoint, client, client_notification_token="secret-notification-token")
    open_approval(live_server, "approve")
    delivery = Delivery.objects.get(channel="callback")
    assert delivery.status == "pending" and delivery.last_error.startswith("Refused by the outbound policy")
    assert delivery.url == "http://127.0.0.1:9/cb"
    # The token is stored encrypted, bound to its message.
    assert b"secret-notification-token" not in bytes(delivery.credential_encrypted)
    assert decrypt_credential(delivery.credential_encrypted, delivery.message.event_id) == "secret-notification-token"


# ---- the token endpoint's answers (CIBA Core §11) -------------------------------------------------
def test_slow_down_adds_five_seconds(tenant, alice, endpoints, bc_endpoint, ciba_client):
    answer = started(bc_endpoint, ciba_client)
    assert_error(poll(endpoints, ciba_client, answer["auth_req_id"]), "authorization_pending")
    assert_error(poll(endpoints, ciba_client, answer["auth_req_id"]), "slow_down")
    assert BackchannelAuthentication.objects.get().interval == 10
    BackchannelAuthentication.objects.update(last_polled_at=timezone.now() - timedelta(seconds=10))
    assert_error(poll(endpoints, ciba_client, answer["auth_req_id"]), "authorization_pending")


def test_expired_requests(tenant, alice, live_server, endpoints, bc_endpoint, ciba_client, settings):
    settings.LUMOAUTH_CIBA_MAX_EXPIRY = 600
    answer = started(bc_endpoint, ciba_client, requested_expiry="86400")
    assert answer["expires_in"] == 600  # capped
    BackchannelAuthentication.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert_error(poll(endpoints, ciba_client, answer["auth_req_id"]), "expired_token")
    page = open_approval(live_server, None)
    assert "Request closed" in page.text and 'name="decision"' not in page.text


def test_approved_then_expired_before_fetching_is_expired_token(
    tenant, alice, live_server, endpoints, bc_endpoint, ciba_client
):
    answer = started(bc_endpoint, ciba_client)
    open_approval(live_server, "approve")
    BackchannelAuthentication.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert_error(poll(endpoints, ciba_client, answer["auth_req_id"]), "expired_token")


def test_token_endpoint_errors(tenant, alice, live_server, endpoints, bc_endpoint, ciba_client, make_client):
    answer = started(bc_endpoint, ciba_client)
    other = make_client(
        tenant, "Other", grant_types=[GrantType.CIBA], redirect_uris=[], backchannel_token_delivery_mode="poll"
    )
    assert_error(poll(endpoints, other, answer["auth_req_id"]), "invalid_grant")  # another client's
    assert_error(poll(endpoints, ciba_client, "made-up"), "invalid_grant")
    missing = requests.post(
        endpoints["token"], data={"grant_type": CIBA}, auth=(ciba_client.client_id, ciba_client.secret), timeout=10
    )
    assert_error(missing, "invalid_request")
    wrong = requests.post(
        endpoints["token"],
        data={"grant_type": CIBA, "auth_req_id": answer["auth_req_id"]},
        auth=(ciba_client.client_id, "wrong"),
        timeout=10,
    )
    assert_error(wrong, "invalid_client", 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    web = make_client(tenant, "Web", grant_types=[GrantType.AUTHORIZATION_CODE])
    assert_error(poll(endpoints, web, answer["auth_req_id"]), "unauthorized_client")
    duplicate = requests.post(
        endpoints["token"],
        data=[("grant_type", CIBA), ("auth_req_id", answer["auth_req_id"]), ("auth_req_id", "x")],
        auth=(ciba_client.client_id, ciba_client.secret),
        timeout=10,
    )
    assert_error(duplicate, "invalid_request")
    # None of that spent or disturbed the request: approved, it still redeems.
    open_approval(live_server, "approve")
    waited()
    assert poll(endpoints, ciba_client, answer["auth_req_id"]).status_code == 200
