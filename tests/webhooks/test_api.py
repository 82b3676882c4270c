"""The webhooks REST API over real HTTP (`requests` against live_server), authenticated with real
access tokens from the tenant's token endpoint."""

import base64

import pytest
import requests
from django.test import Client as BrowserClient
from standardwebhooks.webhooks import Webhook

from lumoauth.events.api import AuditEvent
from lumoauth.webhooks.models import Delivery, WebhookSubscription
from oauth.models import AuthMethod, GrantType, TokenFormat
from oauth.services.clients import ClientSpec, create_client
from tests.oauth.tokens import issue_tokens, web_client


@pytest.fixture
def api(live_server, tenant):
    return f"{live_server.url}/t/{tenant.slug}/api/v1/webhooks/"


def _user_token(tenant, username, token_format=TokenFormat.JWT, scope="openid webhooks:manage") -> str:
    """A token from an admin tool: a client allowed the privileged webhooks:manage scope."""
    client, secret = web_client(tenant, name=f"Admin app {username} {token_format}")
    client.token_format = token_format
    client.allowed_scopes = "openid webhooks:manage"
    client.save()
    return issue_tokens(tenant, client, secret, username, scope=scope)["access_token"]


@pytest.fixture
def admin_token(tenant, make_user):
    make_user(tenant, "boss", is_tenant_admin=True)
    return _user_token(tenant, "boss")


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_manages_webhooks_with_an_access_token(tenant, admin_token, api, receiver, allow_private):
    auth = _bearer(admin_token)
    created = requests.post(
        api,
        json={"url": receiver.url, "event_types": ["user.*", "login.failed"], "description": "CRM sync"},
        headers=auth,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and Webhook(body["secret"])  # usable by a Standard Webhooks library
    assert created.headers["Cache-Control"] == "no-store"
    hook = f"{api}{body['id']}"
    listed = requests.get(api, headers=auth, timeout=10).json()["webhooks"]
    assert [w["id"] for w in listed] == [body["id"]] and "secret" not in listed[0]
    shown = requests.get(hook, headers=auth, timeout=10).json()
    assert shown["event_types"] == ["user.*", "login.failed"] and "secret" not in shown
    changed = requests.patch(hook, json={"event_types": ["group.*"], "active": False}, headers=auth, timeout=10)
    assert changed.status_code == 200 and changed.json()["event_types"] == ["group.*"]
    assert changed.json()["active"] is False and changed.json()["url"] == receiver.url
    assert requests.get(f"{hook}/deliveries", headers=auth, timeout=10).json() == {
        "deliveries": [],
        "next_before": None,
    }
    assert requests.delete(hook, headers=auth, timeout=10).status_code == 204
    assert requests.get(hook, headers=auth, timeout=10).status_code == 404
    actions = list(
        AuditEvent.objects.filter(tenant=tenant, action__startswith="webhook.").values_list("action", "actor_label")
    )
    assert sorted(actions) == [("webhook.created", "boss"), ("webhook.deleted", "boss"), ("webhook.updated", "boss")]


def test_an_opaque_token_works_too(tenant, make_user, api):
    make_user(tenant, "boss", is_tenant_admin=True)
    token = _user_token(tenant, "boss", TokenFormat.OPAQUE)
    assert token.count(".") != 2  # not a JWT
    assert requests.get(api, headers=_bearer(token), timeout=10).status_code == 200


def _client_credentials_token(tenant) -> str:
    client, secret = create_client(
        tenant,
        ClientSpec(
            name="Service",
            grant_types=[GrantType.CLIENT_CREDENTIALS],
            redirect_uris=[],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        ),
    )
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    answer = BrowserClient().post(
        f"/t/{tenant.slug}/api/v1/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    return answer.json()["access_token"]


def test_who_is_refused(tenant, other_tenant, make_user, api):
    make_user(tenant, "worker")
    make_user(tenant, "boss2", is_tenant_admin=True)
    make_user(other_tenant, "boss", is_tenant_admin=True)
    cases = {
        "no token": ({}, 401),
        "garbage": (_bearer("not-a-token"), 401),
        "another tenant's admin": (_bearer(_user_token(other_tenant, "boss")), 401),
        "a user who is not an admin": (_bearer(_user_token(tenant, "worker")), 403),
        "an admin's token without the scope": (_bearer(_user_token(tenant, "boss2", scope="openid")), 403),
        "a client without a user": (_bearer(_client_credentials_token(tenant)), 403),
    }
    for case, (headers, status) in cases.items():
        answer = requests.post(
            api, json={"url": "https://x.example/h", "event_types": ["*"]}, headers=headers, timeout=10
        )
        assert answer.status_code == status, case
        assert set(answer.json()) == {"detail"}, case  # Django REST framework's error body
        challenge = answer.headers["WWW-Authenticate"]  # RFC 6750 §3
        assert challenge.startswith("Bearer realm="), case
        if status == 403:
            assert 'error="insufficient_scope"' in challenge and 'scope="webhooks:manage"' in challenge
        elif case != "no token":
            assert 'error="invalid_token"' in challenge, case  # RFC 6750 §3.1
    assert not WebhookSubscription.objects.exists()


def test_another_tenants_webhooks_are_unknown(tenant, other_tenant, admin_token, api, subscribe, receiver, make_user):
    theirs, _ = subscribe(other_tenant, receiver.url, ["user.*"])
    mine, _ = subscribe(tenant, receiver.url, ["user.*"])
    make_user(other_tenant, "zoe")
    delivery = Delivery.objects.get(subscription=theirs)
    auth = _bearer(admin_token)
    assert [w["id"] for w in requests.get(api, headers=auth, timeout=10).json()["webhooks"]] == [str(mine.uid)]
    hook = f"{api}{theirs.uid}"
    assert requests.get(hook, headers=auth, timeout=10).status_code == 404
    assert requests.patch(hook, json={"active": False}, headers=auth, timeout=10).status_code == 404
    assert requests.delete(hook, headers=auth, timeout=10).status_code == 404
    assert requests.get(f"{hook}/deliveries", headers=auth, timeout=10).status_code == 404
    assert requests.post(f"{hook}/deliveries/{delivery.pk}/redeliver", headers=auth, timeout=10).status_code == 404
    # Their delivery under my subscription's URL is just as unknown.
    mine_url = f"{api}{mine.uid}/deliveries/{delivery.pk}/redeliver"
    assert requests.post(mine_url, headers=auth, timeout=10).status_code == 404
    theirs.refresh_from_db()
    assert theirs.active and WebhookSubscription.objects.filter(tenant=other_tenant).count() == 1


def test_bad_input_gets_a_400_never_a_500(tenant, admin_token, api, subscribe, receiver, settings):
    auth = _bearer(admin_token)
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = False
    bad_bodies = [
        ({"url": "ftp://example.com/h", "event_types": ["*"]}, "url"),
        ({"url": "http://169.254.169.254/latest", "event_types": ["*"]}, "url"),
        ({"url": "https://x.example/h", "event_types": ["user.created", "nope.thing"]}, "event_types"),
        ({"url": "https://x.example/h", "event_types": "user.*"}, "event_types"),
        ({"url": "https://x.example/h", "event_types": []}, "event_types"),
        ({"url": "https://x.example/h\x00", "event_types": ["*"]}, "url"),
        ({"url": "https://x.example/h", "event_types": ["*"], "description": "a\x00b"}, "description"),
        ({"url": "https://x.example/h", "event_types": ["*"], "active": "maybe"}, "active"),
        ({"url": ["https://x.example/h"], "event_types": ["*"]}, "url"),
        ({"event_types": ["*"]}, "url"),
        ({"url": "https://x.example/" + "a" * 3000, "event_types": ["*"]}, "url"),
    ]
    for body, field in bad_bodies:
        answer = requests.post(api, json=body, headers=auth, timeout=10)
        assert answer.status_code == 400 and field in answer.json(), (body, answer.text)
    assert (
        requests.post(
            api, data="{not json", headers=auth | {"Content-Type": "application/json"}, timeout=10
        ).status_code
        == 400
    )
    assert (
        requests.post(api, data="url=x", headers=auth | {"Content-Type": "text/plain"}, timeout=10).status_code == 415
    )
    assert requests.put(api, json={}, headers=auth, timeout=10).status_code == 405
    for path in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00", "x/deliveries"):
        assert requests.get(api + path, headers=auth, timeout=10).status_code in (400, 404), path
    mine, _ = subscribe(tenant, "https://x.example/h", ["*"])
    for suffix in ("deliveries?before=abc", "deliveries?status=lost", "deliveries?before=" + "9" * 40):
        assert requests.get(f"{api}{mine.uid}/{suffix}", headers=auth, timeout=10).status_code == 400, suffix
    for delivery_id in ("x", "99999999999", "9" * 40, "-1"):
        url = f"{api}{mine.uid}/deliveries/{delivery_id}/redeliver"
        assert requests.post(url, headers=auth, timeout=10).status_code == 404, delivery_id
    assert (
        requests.patch(f"{api}{mine.uid}", json={"event_types": ["bogus"]}, headers=auth, timeout=10).status_code == 400
    )
    assert not WebhookSubscription.objects.exclude(pk=mine.pk).exists()


def test_deliveries_and_redelivery(tenant, admin_token, api, subscribe, make_user, settings, eager):
    settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = []  # the first failure is final
    subscription, _ = subscribe(tenant, "http://127.0.0.1:9/down", ["user.created"])
    make_user(tenant, "alice")  # live_server tests commit: the delivery was attempted in-process
    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.status == "failed"
    auth = _bearer(admin_token)
    listed = requests.get(f"{api}{subscription.uid}/deliveries?status=failed", headers=auth, timeout=10).json()
    (shown,) = listed["deliveries"]
    assert shown["id"] == delivery.pk and shown["event_type"] == "user.created" and shown["status"] == "failed"
    assert shown["attempts"] == 1 and shown["attempt_log"][0]["error"] == "connection failed"
    assert shown["event_id"] == str(delivery.message.event_id)
    redelivered = requests.post(f"{api}{subscription.uid}/deliveries/{delivery.pk}/redeliver", headers=auth, timeout=10)
    assert redelivered.status_code == 202 and redelivered.json()["status"] == "pending"
    event = AuditEvent.objects.get(tenant=tenant, action="webhook.redelivered")
    assert event.actor_label == "boss" and event.details["delivery"] == delivery.pk
