import base64
import json
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from lumoauth.events.models import AuditEvent
from tenants.models import Group, Tenant, User
from tests.webhooks.conftest import eager  # noqa: F401 (Celery tasks in-process, with or without REDIS_URL)

pytestmark = pytest.mark.django_db


def run_json(capsys) -> dict:
    call_command("quickstart", "--json")
    return json.loads(capsys.readouterr().out)


def snapshot():
    return (
        Tenant.objects.count(),
        User.objects.count(),
        Group.objects.count(),
        AuditEvent.objects.count(),
        sorted(User.objects.values_list("username", "sub", "password")),
    )


def test_quickstart_json_shape(capsys, settings):
    settings.LUMOAUTH_BASE_URL = "https://id.example.com"
    info = run_json(capsys)
    assert info["base_url"] == "https://id.example.com"
    assert info["tenant"] == "demo"
    assert info["issuer"] == "https://id.example.com/t/demo/api/v1"
    assert {u["role"] for u in info["users"]} == {"tenant_admin", "user"}
    clients = {c["client_id"]: c for c in info["clients"]}
    assert {"demo-web", "demo-spa", "demo-service", "demo-device"} <= set(clients)
    assert clients["demo-device"]["grant_types"] == ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]
    assert clients["demo-device"]["client_secret"] is None and clients["demo-device"]["type"] == "public"
    assert info["device_authorization_endpoint"] == "https://id.example.com/t/demo/api/v1/oauth/device_authorization"
    assert clients["demo-ciba"]["grant_types"] == ["urn:openid:params:grant-type:ciba"]
    assert clients["demo-ciba"]["client_secret"] and clients["demo-ciba"]["type"] == "confidential"
    assert info["backchannel_authentication_endpoint"] == "https://id.example.com/t/demo/api/v1/oauth/bc-authorize"
    assert clients["demo-web"]["grant_types"] == ["authorization_code", "refresh_token"]
    assert clients["demo-spa"]["client_secret"] is None and clients["demo-spa"]["token_endpoint_auth_method"] == "none"
    assert clients["demo-service"]["grant_types"] == ["client_credentials"]
    assert info["initial_access_token"] and info["registration_endpoint"].endswith("/t/demo/api/v1/oauth/register")
    assert info["saml_idp_metadata_url"] == "https://id.example.com/t/demo/saml/idp/metadata"
    assert info["portal_url"] == "https://id.example.com/t/demo/portal/"
    assert info["scim"]["base_url"] == "https://id.example.com/t/demo/scim/v2" and info["scim"]["token"]
    assert info["saml_service_providers"] == [
        {"entity_id": "http://localhost:8081/saml/metadata", "acs_url": "http://localhost:8081/saml/acs"}
    ]


def test_quickstart_twice_gives_the_same_result(capsys):
    first = run_json(capsys)
    before = snapshot()
    second = run_json(capsys)
    assert first == second
    assert snapshot() == before


def test_quickstart_users_can_sign_in(capsys):
    info = run_json(capsys)
    for user in info["users"]:
        client = Client()
        response = client.post("/t/demo/login", {"identifier": user["username"], "password": user["password"]})
        assert response.status_code == 302, user
        account = client.get("/t/demo/account")
        assert (b"Administrator" in account.content) == (user["role"] == "tenant_admin")


def test_quickstart_repairs_a_changed_password(capsys):
    from tenants.services.users import set_password

    info = run_json(capsys)
    alice = User.objects.get(tenant__slug="demo", username="alice")
    set_password(alice, "somebody-changed-it")
    run_json(capsys)
    alice.refresh_from_db()
    assert alice.check_password(next(u["password"] for u in info["users"] if u["username"] == "alice"))


def test_quickstart_prints_how_to_sign_in(capsys):
    call_command("quickstart")
    out = capsys.readouterr().out
    assert "/t/demo/login" in out and "admin" in out and "alice" in out


@pytest.mark.usefixtures("eager")
def test_the_demo_ciba_client_reaches_the_demo_user(capsys, mailoutbox, django_capture_on_commit_callbacks):
    """What the quickstart output invites: a CIBA request for alice, whose approval link is emailed."""
    info = run_json(capsys)
    (ciba,) = [c for c in info["clients"] if c["client_id"] == "demo-ciba"]
    with django_capture_on_commit_callbacks(execute=True):  # the notification is sent once the request commits
        answer = Client().post(
            "/t/demo/api/v1/oauth/bc-authorize",
            urlencode({"scope": "openid profile", "login_hint": "alice", "binding_message": "DEMO"}),
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"demo-ciba:{ciba['client_secret']}".encode()).decode(),
        )
    assert answer.status_code == 200, answer.content
    assert answer.json()["auth_req_id"]
    (message,) = mailoutbox
    assert "/t/demo/ciba/" in message.body and "DEMO" in message.body
