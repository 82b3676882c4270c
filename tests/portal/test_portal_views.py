"""The portal's access rules, CSRF, audit trail and pages, through the Django test client."""

import pytest
from django.test import Client

from lumoauth.events.models import AuditEvent
from tenants.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_goes_to_the_tenant_sign_in(client, tenant):
    response = client.get("/t/acme/portal/users/")
    assert response.status_code == 302 and response["Location"] == "/t/acme/login?next=%2Ft%2Facme%2Fportal%2Fusers%2F"


def test_non_admins_and_other_tenants_admins_learn_nothing(tenant, other_tenant, make_user, sign_in, admin):
    member = Client()
    make_user(tenant, "alice")
    sign_in(member, tenant, "alice")
    for path in (
        "/t/acme/portal/",
        "/t/acme/portal/users/",
        f"/t/acme/portal/users/{admin.sub}/",
        "/t/acme/portal/audit/",
    ):
        assert member.get(path).status_code == 404
    foreign = Client()
    make_user(other_tenant, "root", is_tenant_admin=True)
    sign_in(foreign, other_tenant, "root")
    assert foreign.get("/t/acme/portal/").status_code == 302  # not signed in to acme at all
    assert foreign.get(f"/t/{other_tenant.slug}/portal/users/{admin.sub}/").status_code == 404


def test_dashboard_counts_and_recent_events(admin_client):
    page = admin_client.get("/t/acme/portal/")
    assert page.status_code == 200
    assert page.context["users"] == 1 and page.context["sign_ins"] == 1
    assert b"login.succeeded" in page.content


def test_create_edit_deactivate_user(admin_client, tenant, admin):
    created = admin_client.post(
        "/t/acme/portal/users/new",
        {"username": "carol", "email": "carol@acme.example", "given_name": "Carol", "password": "carol-long-password"},
    )
    assert created.status_code == 302
    carol = User.objects.get(tenant=tenant, username="carol")
    assert carol.check_password("carol-long-password") and carol.given_name == "Carol"
    edited = admin_client.post(
        f"/t/acme/portal/users/{carol.sub}/",
        {"username": "carol", "email": "carol@acme.example", "given_name": "Caroline", "is_tenant_admin": "on"},
    )
    assert edited.status_code == 302
    carol.refresh_from_db()
    assert carol.given_name == "Caroline" and carol.is_tenant_admin
    assert admin_client.post(f"/t/acme/portal/users/{carol.sub}/active", {"active": "0"}).status_code == 302
    carol.refresh_from_db()
    assert not carol.is_active
    events = AuditEvent.objects.filter(tenant=tenant, actor_id=str(admin.pk))
    assert {"user.created", "user.updated", "user.deactivated"} <= set(events.values_list("action", flat=True))
    listing = admin_client.get("/t/acme/portal/users/?q=carol")
    assert b"carol" in listing.content and b"deactivated" in listing.content


def test_form_errors_keep_what_was_typed(admin_client, admin):
    answer = admin_client.post(
        "/t/acme/portal/users/new", {"username": "boss", "email": "not-an-email", "given_name": "Typed"}
    )
    assert answer.status_code == 400
    assert b'value="Typed"' in answer.content and b"Enter a valid email address." in answer.content
    duplicate = admin_client.post("/t/acme/portal/users/new", {"username": "BOSS", "email": "x@acme.example"})
    assert duplicate.status_code == 400 and b"already taken" in duplicate.content


def test_admin_cannot_deactivate_themselves_and_csrf_is_enforced(tenant, admin, sign_in):
    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/t/acme/login")
    strict.post(
        "/t/acme/login",
        {"identifier": "boss", "password": PASSWORD, "csrfmiddlewaretoken": str(page.context["csrf_token"])},
    )
    assert strict.post(f"/t/acme/portal/users/{admin.sub}/active", {"active": "0"}).status_code == 403
    relaxed = Client()
    sign_in(relaxed, tenant, "boss")
    relaxed.post(f"/t/acme/portal/users/{admin.sub}/active", {"active": "0"})
    admin.refresh_from_db()
    assert admin.is_active


def test_audit_log_filters_and_keyset_pages(admin_client, tenant):
    from lumoauth.events.api import record

    for n in range(120):
        record("thing.done", tenant=tenant, outcome="failure" if n % 2 else "success")
    first = admin_client.get("/t/acme/portal/audit/?action=thing.&outcome=failure")
    assert len(first.context["events"]) == 50 and all(e.outcome == "failure" for e in first.context["events"])
    older = admin_client.get(
        f"/t/acme/portal/audit/?action=thing.&outcome=failure&before={first.context['next_before']}"
    )
    assert len(older.context["events"]) == 10
    assert older.context["next_before"] is None
    assert not {e.id for e in first.context["events"]} & {e.id for e in older.context["events"]}


def test_groups_create_rename_members_delete(admin_client, tenant, admin, make_user):
    from tenants.models import Group

    make_user(tenant, "erin", email="erin@acme.example")
    assert (
        admin_client.post("/t/acme/portal/groups/", {"name": "Support", "description": "Helpdesk"}).status_code == 302
    )
    group = Group.objects.get(tenant=tenant, name="Support")
    duplicate = admin_client.post("/t/acme/portal/groups/", {"name": "support"})
    assert duplicate.status_code == 400 and b"already exists" in duplicate.content
    page = f"/t/acme/portal/groups/{group.uid}/"
    assert admin_client.post(page, {"form": "member", "identifier": "ERIN@acme.example"}).status_code == 302
    assert list(group.members.values_list("username", flat=True)) == ["erin"]
    unknown = admin_client.post(page, {"form": "member", "identifier": "nobody"})
    assert unknown.status_code == 400 and b"No user of this organization" in unknown.content
    assert admin_client.post(page, {"form": "group", "name": "Customer support", "description": ""}).status_code == 302
    group.refresh_from_db()
    assert group.name == "Customer support"
    erin = User.objects.get(username="erin")
    assert admin_client.post(f"{page}members/{erin.sub}/remove").status_code == 302
    assert not group.members.exists()
    listing = admin_client.get("/t/acme/portal/groups/?q=customer")
    assert b"Customer support" in listing.content
    assert admin_client.post(f"{page}delete").status_code == 302
    assert not Group.objects.filter(pk=group.pk).exists()
    actions = set(AuditEvent.objects.filter(tenant=tenant, actor_id=str(admin.pk)).values_list("action", flat=True))
    assert {"group.created", "membership.added", "group.updated", "membership.removed", "group.deleted"} <= actions


def test_groups_of_another_tenant_are_not_found(admin_client, other_tenant):
    from tenants.services.groups import create_group

    foreign = create_group(other_tenant, "Theirs")
    assert admin_client.get(f"/t/acme/portal/groups/{foreign.uid}/").status_code == 404
    assert admin_client.post(f"/t/acme/portal/groups/{foreign.uid}/delete").status_code == 404


def test_oauth_clients_register_rotate_delete(admin_client, tenant, admin):
    import re

    from django.contrib.auth.hashers import check_password

    from oauth.models import Client as OAuthClient

    created = admin_client.post(
        "/t/acme/portal/clients/",
        {
            "name": "Billing",
            "client_type": "confidential",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "token_format": "opaque",
            "access_token_lifetime": 600,
            "refresh_token_lifetime": 86400,
        },
    )
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    secret = re.search(rb'id="client-secret">([^<]+)<', created.content).group(1).decode()
    client = OAuthClient.objects.get(tenant=tenant, name="Billing")
    assert check_password(secret, client.client_secret) and client.access_token_lifetime == 600
    rotated = admin_client.post(f"/t/acme/portal/clients/{client.client_id}/rotate")
    new_secret = re.search(rb'id="client-secret">([^<]+)<', rotated.content).group(1).decode()
    client.refresh_from_db()
    assert new_secret != secret and check_password(new_secret, client.client_secret)
    bad = admin_client.post(
        "/t/acme/portal/clients/",
        {
            "name": "Broken",
            "client_type": "public",
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
            "token_format": "jwt",
            "access_token_lifetime": 600,
            "refresh_token_lifetime": 86400,
        },
    )
    assert bad.status_code == 400 and b"confidential" in bad.content and b'value="Broken"' in bad.content
    assert admin_client.post(f"/t/acme/portal/clients/{client.client_id}/delete").status_code == 302
    assert not OAuthClient.objects.filter(pk=client.pk).exists()
    actions = set(AuditEvent.objects.filter(tenant=tenant, actor_id=str(admin.pk)).values_list("action", flat=True))
    assert {"client.created", "client.secret_rotated", "client.deleted"} <= actions


def test_clients_of_another_tenant_are_not_found(admin_client, other_tenant):
    from oauth.services.clients import ClientSpec, create_client

    foreign, _ = create_client(other_tenant, ClientSpec(name="Theirs", grant_types=["client_credentials"]))
    assert admin_client.post(f"/t/acme/portal/clients/{foreign.client_id}/rotate").status_code == 404
    assert admin_client.post(f"/t/acme/portal/clients/{foreign.client_id}/delete").status_code == 404
    assert b"Theirs" not in admin_client.get("/t/acme/portal/clients/").content
