"""Nothing of tenant A is visible or usable in tenant B."""

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.test import Client

from tenants.models import User
from tenants.services.groups import add_member, create_group
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_same_username_and_email_in_two_tenants(tenant, other_tenant, make_user, sign_in):
    a = make_user(tenant, "alice", email="alice@example.com", password="password-of-acme-alice")
    b = make_user(other_tenant, "alice", email="alice@example.com", password="password-of-globex-alice")
    assert a.pk != b.pk and a.sub != b.sub
    assert sign_in(Client(), tenant, "alice", "password-of-acme-alice").status_code == 302
    # Each password opens only its own tenant.
    assert sign_in(Client(), tenant, "alice", "password-of-globex-alice").status_code == 200
    assert sign_in(Client(), other_tenant, "alice", "password-of-acme-alice").status_code == 200
    assert sign_in(Client(), other_tenant, "alice", "password-of-globex-alice").status_code == 302


def test_backend_never_finds_another_tenants_user(tenant, other_tenant, make_user):
    make_user(tenant, "alice")
    assert authenticate(None, username="alice", password=PASSWORD, tenant=other_tenant) is None
    assert authenticate(None, username="alice", password=PASSWORD, tenant=tenant) is not None
    # Without a tenant only platform operators match (Django admin).
    assert authenticate(None, username="alice", password=PASSWORD) is None


def test_session_of_a_is_not_a_session_of_b(client, tenant, other_tenant, make_user, sign_in):
    make_user(tenant, "alice")
    make_user(other_tenant, "alice")
    sign_in(client, tenant, "alice")
    assert client.get("/t/acme/account").status_code == 200
    assert client.get("/t/globex/account").status_code == 302
    assert client.get("/orgs/globex/account").status_code == 302


def test_one_browser_signed_in_to_two_tenants(client, tenant, other_tenant, make_user, sign_in):
    a = make_user(tenant, "alice", name="Alice of Acme")
    b = make_user(other_tenant, "bob", name="Bob of Globex")
    sign_in(client, tenant, "alice")
    sign_in(client, other_tenant, "bob")
    page_a, page_b = client.get("/t/acme/account"), client.get("/t/globex/account")
    assert b"Alice of Acme" in page_a.content and b"Bob of Globex" not in page_a.content
    assert b"Bob of Globex" in page_b.content and b"Alice of Acme" not in page_b.content
    assert page_a.wsgi_request.user == a and page_b.wsgi_request.user == b
    # Signing out of B leaves A signed in.
    client.post("/t/globex/logout")
    assert client.get("/t/globex/account").status_code == 302
    assert client.get("/t/acme/account").status_code == 200


def test_groups_cannot_mix_tenants(tenant, other_tenant, make_user):
    group = create_group(tenant, "Engineering")
    outsider = make_user(other_tenant, "mallory")
    with pytest.raises(ValidationError):
        add_member(group, outsider)
    assert group.members.count() == 0
    # Same group name in another tenant is fine.
    assert create_group(other_tenant, "Engineering").pk != group.pk


def test_uniqueness_is_per_tenant_and_case_insensitive(tenant, make_user):
    make_user(tenant, "alice", email="alice@acme.example")
    with pytest.raises(ValidationError):
        make_user(tenant, "ALICE", email="other@acme.example")
    with pytest.raises(ValidationError):
        make_user(tenant, "alice2", email="Alice@ACME.example")
    assert User.objects.filter(tenant=tenant).count() == 1


def test_platform_operator_is_nobody_in_a_tenant(client, tenant, admin_operator):
    client.force_login(admin_operator)
    assert client.get("/admin/").status_code == 200
    response = client.get("/t/acme/account")
    assert response.status_code == 302
    assert response.wsgi_request.user.is_anonymous


@pytest.fixture
def admin_operator(db):
    from tenants.services.users import create_operator

    return create_operator("root", email="root@platform.example", password="operator-password-1")


def test_signing_out_of_a_tenant_keeps_the_operator_in_admin(client, tenant, make_user, sign_in, admin_operator):
    make_user(tenant, "alice")
    client.force_login(admin_operator)
    sign_in(client, tenant, "alice")
    client.post("/t/acme/logout")
    assert client.get("/t/acme/account").status_code == 302
    assert client.get("/admin/").status_code == 200
