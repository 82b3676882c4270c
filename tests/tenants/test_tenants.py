import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from lumoauth.events.models import AuditEvent
from tenants.models import Tenant, User
from tenants.services.tenants import set_tenant_status
from tenants.services.users import create_operator

pytestmark = pytest.mark.django_db


def test_unknown_tenant_is_404_html_for_browsers(client):
    response = client.get("/t/nope/login", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"No such organization" in response.content


def test_unknown_tenant_is_404_json_for_api_paths(client):
    for path in ("/t/nope/api/v1/.well-known/openid-configuration", "/orgs/nope/scim/v2/Users"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"] == "not_found"


def test_unknown_page_of_known_tenant_is_404(client, tenant):
    assert client.get("/t/acme/api/v1/nothing-here").json()["error"] == "not_found"
    assert client.get("/t/acme/nothing-here").status_code == 404


def test_suspended_tenant_answers_like_an_unknown_one(client, tenant, make_user, sign_in):
    make_user(tenant, "alice")
    sign_in(client, tenant, "alice")
    set_tenant_status(tenant, Tenant.Status.SUSPENDED)
    unknown = client.get("/t/nope/login")
    suspended = client.get("/t/acme/login")
    assert suspended.status_code == unknown.status_code == 404
    assert suspended.content == unknown.content
    assert client.get("/t/acme/account").status_code == 404
    assert sign_in(Client(), tenant, "alice").status_code == 404


def test_createtenant_prints_a_working_password(capsys):
    call_command("createtenant", "initech", "--name", "Initech", "--admin-email", "boss@initech.example")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    assert "/t/initech/login" in out
    admin = User.objects.get(tenant__slug="initech", username="admin")
    assert admin.is_tenant_admin and admin.email == "boss@initech.example"
    response = Client().post("/t/initech/login", {"identifier": "boss@initech.example", "password": password})
    assert response.status_code == 302
    events = AuditEvent.objects.filter(tenant__slug="initech").exclude(action__startswith="signing_key.")
    assert list(events.values_list("action", flat=True))[::-1][:3] == [
        "tenant.created",
        "user.created",
        "login.succeeded",
    ]


def test_createtenant_refuses_duplicates_and_bad_slugs(tenant):
    with pytest.raises(CommandError, match="already exists"):
        call_command("createtenant", "acme", "--name", "Again", "--admin-email", "a@b.example")
    with pytest.raises(CommandError):
        call_command("createtenant", "Not A Slug", "--name", "Bad", "--admin-email", "a@b.example")
    assert Tenant.objects.count() == 1


def test_operator_creates_and_suspends_tenants_in_django_admin(client):
    operator = create_operator("root", email="root@platform.example", password="operator-password-1")
    assert (
        client.post(
            "/admin/login/", {"username": "root", "password": "operator-password-1", "next": "/admin/"}
        ).status_code
        == 302
    )
    response = client.post("/admin/tenants/tenant/add/", {"slug": "umbrella", "name": "Umbrella", "settings": "{}"})
    assert response.status_code == 302, response.content
    tenant = Tenant.objects.get(slug="umbrella")
    created = AuditEvent.objects.get(action="tenant.created", tenant=tenant)
    assert created.actor_type == "operator" and created.actor_id == str(operator.pk)
    response = client.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [tenant.pk]})
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.SUSPENDED
    assert AuditEvent.objects.filter(action="tenant.suspended", tenant=tenant).exists()
    assert Client().get("/t/umbrella/login").status_code == 404


def test_tenant_users_cannot_use_django_admin(client, tenant, make_user):
    make_user(tenant, "alice", is_tenant_admin=True)
    response = client.post("/admin/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302
