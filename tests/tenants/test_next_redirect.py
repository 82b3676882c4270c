"""`next` after sign-in only ever leads to a path of the same tenant (no open redirect)."""

import pytest

from tenants.models import Tenant
from tenants.signin.redirects import safe_next

REFUSED = [
    "https://evil.example/",
    "http://evil.example/t/acme/account",
    "//evil.example/t/acme/",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "/t/acme/../globex/account",
    "/t/acme/%2e%2e/globex/account",
    "/t/acme/%2E%2E/%2E%2E/evil",
    "/t/acme/\t/x",
    "/t/acme\r\n/account",
    "/t/globex/account",
    "/t/acmeevil/account",
    "/orgs/globex/",
    "/admin/",
    "account",
    "",
    "/t/acme/" + "a" * 3000,
]
ALLOWED = ["/t/acme/account", "/orgs/acme/account", "/t/acme/", "/t/acme/api/v1/oauth/authorize?x=1&y=%2F"]


@pytest.mark.parametrize("candidate", REFUSED)
def test_refused(candidate):
    assert safe_next(Tenant(slug="acme"), candidate) is None


@pytest.mark.parametrize("candidate", ALLOWED)
def test_allowed(candidate):
    assert safe_next(Tenant(slug="acme"), candidate) == candidate


@pytest.mark.django_db
@pytest.mark.parametrize("candidate", ["https://evil.example/", "//evil.example", "/t/globex/account"])
def test_sign_in_ignores_foreign_next(client, tenant, make_user, sign_in, candidate):
    make_user(tenant, "alice")
    response = sign_in(client, tenant, "alice", next=candidate)
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/account"


@pytest.mark.django_db
def test_sign_in_follows_same_tenant_next(client, tenant, make_user, sign_in):
    make_user(tenant, "alice")
    page = client.get("/t/acme/login?next=/t/acme/account%3Ftab%3D1")
    assert b'value="/t/acme/account?tab=1"' in page.content
    response = sign_in(client, tenant, "alice", next="/t/acme/account?tab=1")
    assert response["Location"] == "/t/acme/account?tab=1"
