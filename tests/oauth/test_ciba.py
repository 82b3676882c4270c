# ruff: noqa: F811 - the shared fixtures imported below are parameters of the tests
"""CIBA (OpenID CIBA Core 1.0) over real HTTP: requests as the consumption device's backend, Authlib
fetching the tokens, a real Celery worker on a real redis-server delivering the user's notification
(signed webhook, or email) and the ping callback to a real HTTP receiver, the approval page in
headless Chromium or driven with requests, tokens verified by joserfc against the published JWKS."""

import json
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core import mail
from django.utils import timezone
from jwcrypto import jwk, jwt
from standardwebhooks.webhooks import Webhook

from lumoauth.events.models import AuditEvent
from lumoauth.webhooks.models import Delivery
from lumoauth.webhooks.secrets import decrypt_credential
from oauth.models import AuthMethod, BackchannelAuthentication, Client, GrantType
from tests.browser import PASSWORD, Browser
from tests.portal.conftest import chromium, screenshot  # noqa: F401 (the shared headless Chromium fixture)
from tests.webhooks.conftest import (  # noqa: F401 (the real receiver, redis-server and Celery worker)
    allow_private,
    celery_app,
    celery_worker,
    eager,
    receiver,
    redis_server,
    subscribe,
)

from .conftest import verify_jwt
from .tokens import issue_tokens

pytestmark = pytest.mark.django_db(transaction=True)

CIBA = "urn:openid:params:grant-type:ciba"


@pytest.fixture
def bc_endpoint(issuer):
    return f"{issuer}/oauth/bc-authorize"


@pytest.fixture
def ciba_client(tenant, make_client):
    return make_client(
        tenant,
        "Call centre",
        grant_types=[GrantType.CIBA],
        redirect_uris=[],
        allowed_scopes="openid profile email",
        backchannel_token_delivery_mode="poll",
    )


def ping_client(tenant, make_client, url):
    return make_client(
        tenant,
        "Point of sale",
        grant_types=[GrantType.CIBA, GrantType.REFRESH_TOKEN],
        redirect_uris=[],
        allowed_scopes="openid profile offline_access",
        backchannel_token_delivery_mode="ping",
        backchannel_client_notification_endpoint=url,
    )


def start(bc_endpoint, client, **data):
    data = {"scope": "openid profile", "login_hint": "alice", **data}
    return requests.post(bc_endpoint, data=data, auth=(client.client_id, client.secret), timeout=10)


def started(bc_endpoint, client, **data) -> dict:
    answer = start(bc_endpoint, client, **data)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.json()


def poll(endpoints, client, auth_req_id):
    data = {"grant_type": CIBA, "auth_req_id": auth_req_id}
    return requests.post(endpoints["token"], data=data, auth=(client.client_id, client.secret), timeout=10)


def assert_error(answer, error, status=400):
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.json()["error"] == error, answer.text
    assert answer.headers["Cache-Control"] == "no-store"


def waited(auth_req_id=None):
    """As if the client had waited its interval since its last poll."""
    BackchannelAuthentication.objects.update(last_polled_at=None)


def open_approval(live_server, decision=None, username="alice"):
    """The latest request's approval page through the hosted sign-in; with a decision, answered."""
    url = approval_url_of(BackchannelAuthentication.objects.order_by("-pk").first(), live_server)
    return Browser(live_server.url).go(url, username=username, consent=decision)


def approval_url_of(authentication, live_server) -> str:
    return f"{live_server.url}/t/{authentication.tenant.slug}/ciba/{authentication.uid}"


# ---- discovery ------------------------------------------------------------------------------------
def test_discovery_advertises_ciba(endpoints, issuer):
    document = requests.get(endpoints["discovery"], timeout=10).json()
    assert document["backchannel_authentication_endpoint"] == f"{issuer}/oauth/bc-authorize"
    assert document["backchannel_token_delivery_modes_supported"] == ["poll", "ping"]
    assert document["backchannel_user_code_parameter_supported"] is False
    assert CIBA in document["grant_types_supported"]
    assert "backchannel_authentication_request_signing_alg_values_supported" not in document


# ---- poll mode, end to end -----------------------------------------------------------------------
def _succeeded(name, args, retval):
    return name == "lumoauth.webhooks.deliver" and retval == "succeeded"


def delivered(worker, count: int) -> None:
    """Wait until the worker has finished `count` deliveries (and its writes: SQLite in-memory
    test databases lock whole tables while another thread writes)."""
    with worker.tasks.changed:
        done = lambda: sum(1 for entry in worker.tasks.done if _succeeded(*entry)) >= count  # noqa: E731
        assert worker.tasks.changed.wait_for(done, 30), worker.tasks.done


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


# ---- the backchannel authentication endpoint's errors (CIBA Core §13) --------------------------------
@pytest.mark.parametrize(
    "change,error,status",
    [
        ({"scope": "profile"}, "invalid_request", 400),  # §7.1: openid is required
        ({"scope": "openid admin"}, "invalid_scope", 400),
        ({"login_hint": ""}, "invalid_request", 400),  # no hint
        ({"id_token_hint": "x.y.z"}, "invalid_request", 400),  # two hints
        ({"login_hint": "nobody"}, "unknown_user_id", 400),
        ({"login_hint": "mallory"}, "unknown_user_id", 400),  # deactivated
        ({"binding_message": "x" * 65}, "invalid_binding_message", 400),
        ({"binding_message": "line\nbreak"}, "invalid_binding_message", 400),
        ({"requested_expiry": "soon"}, "invalid_request", 400),
        ({"requested_expiry": "0"}, "invalid_request", 400),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "invalid_request", 400),
    ],
)
def test_backchannel_request_errors(tenant, alice, make_user, bc_endpoint, ciba_client, change, error, status):
    mallory = make_user(tenant, "mallory")
    mallory.is_active = False
    mallory.save()
    assert_error(start(bc_endpoint, ciba_client, **change), error, status)
    assert not BackchannelAuthentication.objects.exists()
    failed = AuditEvent.objects.get(action="oauth.ciba.request_failed")
    assert failed.outcome == "failure" and failed.details["error"] == error


def test_backchannel_client_errors(tenant, alice, bc_endpoint, ciba_client, make_client, receiver):  # noqa: F811
    wrong = requests.post(
        bc_endpoint, data={"scope": "openid", "login_hint": "alice"}, auth=(ciba_client.client_id, "x"), timeout=10
    )
    assert_error(wrong, "invalid_client", 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    anonymous = requests.post(
        bc_endpoint, data={"scope": "openid", "login_hint": "alice", "client_id": ciba_client.client_id}, timeout=10
    )
    assert_error(anonymous, "invalid_client", 401)
    web = make_client(tenant, "Web", grant_types=[GrantType.AUTHORIZATION_CODE])
    assert_error(start(bc_endpoint, web), "unauthorized_client")
    json_body = requests.post(
        bc_endpoint,
        json={"scope": "openid", "login_hint": "alice"},
        auth=(ciba_client.client_id, ciba_client.secret),
        timeout=10,
    )
    assert_error(json_body, "invalid_request")
    duplicate = requests.post(
        bc_endpoint,
        data=[("scope", "openid"), ("login_hint", "alice"), ("login_hint", "bob")],
        auth=(ciba_client.client_id, ciba_client.secret),
        timeout=10,
    )
    assert_error(duplicate, "invalid_request")
    pinger = ping_client(tenant, make_client, f"{receiver.url}/cb")
    assert_error(start(bc_endpoint, pinger), "invalid_request")  # §7.1: client_notification_token required
    assert_error(start(bc_endpoint, pinger, client_notification_token="not a token"), "invalid_request")
    assert requests.get(bc_endpoint, timeout=10).status_code == 405


# ---- the hints ----------------------------------------------------------------------------------
def test_id_token_hint_names_the_user(
    tenant, alice, live_server, endpoints, bc_endpoint, ciba_client, other_tenant, make_user
):
    # An ID token from this tenant's token endpoint: from a first CIBA sign-in.
    first = started(bc_endpoint, ciba_client)
    open_approval(live_server, "approve")
    waited()
    id_token = poll(endpoints, ciba_client, first["auth_req_id"]).json()["id_token"]
    started(bc_endpoint, ciba_client, login_hint="", id_token_hint=id_token)
    assert BackchannelAuthentication.objects.order_by("-pk").first().user == alice
    # An ID token of another tenant (another issuer, other keys) is not a hint here.
    from .tokens import web_client

    make_user(other_tenant, "alice")
    foreign_app, foreign_secret = web_client(other_tenant)
    foreign = issue_tokens(other_tenant, foreign_app, foreign_secret, "alice", scope="openid")["id_token"]
    assert_error(start(bc_endpoint, ciba_client, login_hint="", id_token_hint=foreign), "invalid_request")
    assert_error(start(bc_endpoint, ciba_client, login_hint="", id_token_hint="not.a.jwt"), "invalid_request")


def _signed(key, claims):
    token = jwt.JWT(header={"alg": "ES256", "kid": "hint-key"}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def test_login_hint_token_signed_by_the_client(tenant, alice, bc_endpoint, make_client):
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="hint-key")
    client = make_client(
        tenant,
        "Bank app",
        grant_types=[GrantType.CIBA],
        redirect_uris=[],
        token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        jwks={"keys": [json.loads(key.export_public())]},
        backchannel_token_delivery_mode="poll",
    )
    now = int(time.time())
    email = _signed(key, {"sub_id": {"format": "email", "email": "ALICE@acme.example"}, "exp": now + 60})
    started(bc_endpoint, client, login_hint="", login_hint_token=email)
    opaque = _signed(key, {"sub_id": {"format": "opaque", "id": str(alice.sub)}, "exp": now + 60})
    started(bc_endpoint, client, login_hint="", login_hint_token=opaque)
    assert [a.user_id for a in BackchannelAuthentication.objects.all()] == [alice.pk, alice.pk]

    expired = _signed(key, {"sub_id": {"format": "email", "email": "alice@acme.example"}, "exp": now - 5})
    assert_error(start(bc_endpoint, client, login_hint="", login_hint_token=expired), "expired_login_hint_token")
    stranger = jwk.JWK.generate(kty="EC", crv="P-256", kid="hint-key")
    forged = _signed(stranger, {"sub_id": {"format": "email", "email": "alice@acme.example"}, "exp": now + 60})
    assert_error(start(bc_endpoint, client, login_hint="", login_hint_token=forged), "invalid_request")
    nobody = _signed(key, {"sub_id": {"format": "email", "email": "nobody@acme.example"}, "exp": now + 60})
    assert_error(start(bc_endpoint, client, login_hint="", login_hint_token=nobody), "unknown_user_id")
    no_subject = _signed(key, {"sub": "alice", "exp": now + 60})
    assert_error(start(bc_endpoint, client, login_hint="", login_hint_token=no_subject), "invalid_request")


# ---- who may decide -------------------------------------------------------------------------------
def test_only_the_user_asked_may_decide(tenant, alice, make_user, live_server, endpoints, bc_endpoint, ciba_client):
    make_user(tenant, "bob")
    started(bc_endpoint, ciba_client)
    url = approval_url_of(BackchannelAuthentication.objects.get(), live_server)
    as_bob = Browser(live_server.url)
    page = as_bob.go(url, username="bob", consent=None)
    assert page.status_code == 404 and "Request not found" in page.text and "Call centre" not in page.text
    csrf = as_bob.session.cookies["lumoauth_csrftoken"]
    forged = as_bob.session.post(
        url, data={"decision": "approve", "csrfmiddlewaretoken": csrf}, headers={"Referer": url}, timeout=10
    )
    assert forged.status_code == 404
    assert BackchannelAuthentication.objects.get().status == "pending"
    # Without a session: the sign-in page first.
    anonymous = requests.get(url, timeout=10, allow_redirects=False)
    assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]
    # The form is CSRF-protected.
    as_alice = Browser(live_server.url)
    as_alice.go(url, consent=None)
    assert (
        as_alice.session.post(url, data={"decision": "approve"}, headers={"Referer": url}, timeout=10).status_code
        == 403
    )
    assert BackchannelAuthentication.objects.get().status == "pending"


def _authenticator_token(tenant, username="alice", scope="openid ciba:approve") -> str:
    from .tokens import web_client

    app, secret = web_client(tenant, name="Authenticator")
    app.allowed_scopes = "openid ciba:approve"
    app.save()
    return issue_tokens(tenant, app, secret, username, scope=scope)["access_token"]


def test_the_approval_api(tenant, alice, live_server, endpoints, bc_endpoint, ciba_client, issuer):
    answer = started(bc_endpoint, ciba_client, binding_message="Order 1234")
    token = _authenticator_token(tenant)
    api = f"{issuer}/ciba/requests"
    bearer = {"Authorization": f"Bearer {token}"}
    listed = requests.get(api, headers=bearer, timeout=10)
    assert listed.status_code == 200 and listed.headers["Cache-Control"] == "no-store"
    (pending,) = listed.json()["requests"]
    assert pending["binding_message"] == "Order 1234" and pending["status"] == "pending"
    assert pending["client"]["client_id"] == ciba_client.client_id
    bad = requests.post(f"{api}/{pending['id']}", json={"decision": "maybe"}, headers=bearer, timeout=10)
    assert bad.status_code == 400 and "decision" in bad.json()
    decided = requests.post(f"{api}/{pending['id']}", json={"decision": "approve"}, headers=bearer, timeout=10)
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    again = requests.post(f"{api}/{pending['id']}", json={"decision": "deny"}, headers=bearer, timeout=10)
    assert again.status_code == 400
    assert requests.get(api, headers=bearer, timeout=10).json() == {"requests": []}
    waited()
    token_answer = poll(endpoints, ciba_client, answer["auth_req_id"])
    assert token_answer.status_code == 200
    claims = verify_jwt(token_answer.json()["id_token"], endpoints["jwks"], sub=str(alice.sub)).claims
    assert claims["amr"] == ["user"]


def test_the_approval_api_refuses(tenant, alice, make_user, live_server, bc_endpoint, ciba_client, issuer):
    started(bc_endpoint, ciba_client)
    uid = BackchannelAuthentication.objects.get().uid
    api = f"{issuer}/ciba/requests"
    assert requests.get(api, timeout=10).status_code == 401
    assert requests.get(api, headers={"Authorization": "Bearer made-up"}, timeout=10).status_code == 401
    # A token without the scope.
    from .tokens import web_client

    app, secret = web_client(tenant, name="Ordinary app")
    plain = issue_tokens(tenant, app, secret, "alice", scope="openid")["access_token"]
    refused = requests.get(api, headers={"Authorization": f"Bearer {plain}"}, timeout=10)
    assert refused.status_code == 403 and 'scope="ciba:approve"' in refused.headers["WWW-Authenticate"]
    # Another user's token: the request is not theirs to see.
    make_user(tenant, "bob")
    bob = {"Authorization": f"Bearer {_authenticator_token(tenant, 'bob')}"}
    assert requests.get(api, headers=bob, timeout=10).json() == {"requests": []}
    assert requests.post(f"{api}/{uid}", json={"decision": "approve"}, headers=bob, timeout=10).status_code == 404
    assert requests.post(f"{api}/not-a-uuid", json={"decision": "approve"}, headers=bob, timeout=10).status_code == 404
    assert BackchannelAuthentication.objects.get().status == "pending"


def test_privileged_scope_needs_the_client_to_list_it(tenant, alice):
    from oauth.scopes import allowed_for

    from .tokens import web_client

    app, _ = web_client(tenant)
    assert "ciba:approve" not in allowed_for(app) and "profile" in allowed_for(app)
    app.allowed_scopes = "openid ciba:approve"
    assert "ciba:approve" in allowed_for(app)


# ---- tenant isolation ---------------------------------------------------------------------------
def test_nothing_crosses_tenants(
    tenant, other_tenant, alice, make_user, live_server, endpoints, bc_endpoint, ciba_client, make_client
):
    make_user(other_tenant, "bob")
    other_bc = f"{live_server.url}/t/{other_tenant.slug}/api/v1/oauth/bc-authorize"
    # Tenant A's client is unknown at tenant B; B's user is unknown to A's client.
    assert_error(start(other_bc, ciba_client), "invalid_client", 401)
    assert_error(start(bc_endpoint, ciba_client, login_hint="bob"), "unknown_user_id")
    answer = started(bc_endpoint, ciba_client)
    authentication = BackchannelAuthentication.objects.get()
    # A's request is not found under B's URL, even for a user of B.
    foreign_url = f"{live_server.url}/t/{other_tenant.slug}/ciba/{authentication.uid}"
    page = Browser(live_server.url).go(foreign_url, username="bob", consent=None)
    assert page.status_code == 404
    # B's client cannot redeem A's auth_req_id at B's token endpoint.
    b_client = make_client(
        other_tenant, "B app", grant_types=[GrantType.CIBA], redirect_uris=[], backchannel_token_delivery_mode="poll"
    )
    other_token = f"{live_server.url}/t/{other_tenant.slug}/api/v1/oauth/token"
    stolen = requests.post(
        other_token,
        data={"grant_type": CIBA, "auth_req_id": answer["auth_req_id"]},
        auth=(b_client.client_id, b_client.secret),
        timeout=10,
    )
    assert_error(stolen, "invalid_grant")
    # B's approval API does not list A's request, even with a token of B's user.
    bob_token = _authenticator_token(other_tenant, "bob")
    listed = requests.get(
        f"{live_server.url}/t/{other_tenant.slug}/api/v1/ciba/requests",
        headers={"Authorization": f"Bearer {bob_token}"},
        timeout=10,
    )
    assert listed.json() == {"requests": []}
    # And A's token is not valid at B.
    alice_token = _authenticator_token(tenant)
    cross = requests.get(
        f"{live_server.url}/t/{other_tenant.slug}/api/v1/ciba/requests",
        headers={"Authorization": f"Bearer {alice_token}"},
        timeout=10,
    )
    assert cross.status_code == 401


# ---- registration and client metadata ------------------------------------------------------------
def test_clients_register_with_ciba_metadata(tenant, live_server, issuer):
    from oauth.services.registration import create_initial_access_token

    _, initial = create_initial_access_token(tenant, label="t")
    register = f"{issuer}/oauth/register"
    auth = {"Authorization": f"Bearer {initial}"}
    base = {"client_name": "Kiosk", "grant_types": [CIBA], "token_endpoint_auth_method": "client_secret_basic"}
    ping = {
        **base,
        "backchannel_token_delivery_mode": "ping",
        "backchannel_client_notification_endpoint": "https://kiosk.example.com/cb",
    }
    answer = requests.post(register, json=ping, headers=auth, timeout=10)
    assert answer.status_code == 201, answer.text
    assert answer.json()["backchannel_token_delivery_mode"] == "ping"
    client = Client.objects.get(client_id=answer.json()["client_id"])
    assert client.backchannel_client_notification_endpoint == "https://kiosk.example.com/cb"
    for bad in (
        base,  # §4: the delivery mode is required
        {**base, "backchannel_token_delivery_mode": "push"},  # push is not offered
        {**base, "backchannel_token_delivery_mode": "ping"},  # ping needs the endpoint
        {**ping, "backchannel_client_notification_endpoint": "http://kiosk.example.com/cb"},  # https only
        {**base, "backchannel_token_delivery_mode": "poll", "token_endpoint_auth_method": "none"},  # public
    ):
        refused = requests.post(register, json=bad, headers=auth, timeout=10)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata", (bad, refused.text)
