"""Acme signs its users in through Globex, another LumoAuth tenant acting as the OpenID Provider:
the whole browser flow over real HTTP through both tenants (authorization code + PKCE, ID token
checked against Globex's published JWKS, userinfo), just-in-time provisioning and linking."""

import pytest

from lumoauth.events.models import AuditEvent
from tenants.models import FederatedIdentity, User
from tenants.services.users import update_user
from tenants.signin.session import SESSION_KEY
from tests.browser import Browser

pytestmark = pytest.mark.django_db(transaction=True)


def federated_sign_in(base: str, *, username="bob", next_path="/t/acme/account", browser=None):
    browser = browser or Browser(base)
    page = browser.go(f"{base}/t/acme/federation/oidc/globex/login?next={next_path}", username=username)
    return browser, page


def test_first_sign_in_provisions_the_user_then_updates_them(globex_op, tenant):
    browser, page = federated_sign_in(globex_op.base)
    assert page.status_code == 200 and page.url == f"{globex_op.base}/t/acme/account", page.text[:300]
    assert "Bob" in page.text

    user = User.objects.get(tenant=tenant, email="bob@globex.example")
    assert (user.given_name, user.family_name, user.name) == ("Bob", "Builder", "Bob Builder")
    assert user.email_verified is True  # Globex said so in its ID token
    assert not user.has_usable_password()
    assert list(user.directory_groups.values_list("name", flat=True)) == ["Partners"]
    link = FederatedIdentity.objects.get(tenant=tenant, user=user)
    assert link.connection == globex_op.connection.connection_key and link.subject == str(globex_op.bob.sub)
    # Signed in to Acme as the new account (Globex's own sign-in is a separate one).
    assert "bob@globex.example" in browser.session.get(f"{globex_op.base}/t/acme/account", timeout=10).text
    success = AuditEvent.objects.get(tenant=tenant, action="login.succeeded")
    assert success.details == {"method": "oidc", "connection": "globex"} and success.actor_id == str(user.pk)
    assert AuditEvent.objects.filter(tenant=tenant, action="identity.linked", target_id=str(user.pk)).exists()

    # Globex changes Bob's name; his next sign-in at Acme updates the mapped fields of the same account.
    update_user(globex_op.bob, given_name="Robert", name="Robert Builder")
    _, again = federated_sign_in(globex_op.base)
    assert again.status_code == 200
    assert User.objects.filter(tenant=tenant).count() == 1
    user.refresh_from_db()
    assert (user.given_name, user.name) == ("Robert", "Robert Builder")
    assert AuditEvent.objects.filter(tenant=tenant, action="login.succeeded").count() == 2


def test_the_tenant_session_records_the_federated_method(globex_op, tenant):
    browser, page = federated_sign_in(globex_op.base)
    assert page.status_code == 200
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore(session_key=browser.session.cookies.get("lumoauth_session"))
    entry = store[SESSION_KEY][str(tenant.pk)]
    assert entry["amr"] == ["fed"]


def test_existing_account_is_linked_only_when_allowed_and_verified(globex_op, tenant, make_user):
    existing = make_user(tenant, "robert", email="bob@globex.example")
    _, refused = federated_sign_in(globex_op.base)
    assert refused.status_code == 400 and "already exists" in refused.text
    assert not FederatedIdentity.objects.filter(tenant=tenant).exists()
    assert User.objects.filter(tenant=tenant).count() == 1  # nothing half-created
    failure = AuditEvent.objects.get(tenant=tenant, action="login.failed")
    assert failure.details["reason"] == "provisioning_refused" and failure.details["method"] == "oidc"

    # Allowed, but Globex does not vouch for the address: still refused.
    from oauth.federation.services import update_connection

    update_connection(globex_op.connection, link_verified_email=True)
    update_user(globex_op.bob, email_verified=False)
    _, unverified = federated_sign_in(globex_op.base)
    assert unverified.status_code == 400 and not FederatedIdentity.objects.filter(tenant=tenant).exists()

    # Allowed and verified: the first sign-in links the existing account.
    update_user(globex_op.bob, email_verified=True)
    _, linked = federated_sign_in(globex_op.base)
    assert linked.status_code == 200
    assert FederatedIdentity.objects.get(tenant=tenant).user == existing
    assert User.objects.filter(tenant=tenant).count() == 1


def test_deactivated_user_cannot_sign_in_through_the_connection(globex_op, tenant):
    federated_sign_in(globex_op.base)
    user = User.objects.get(tenant=tenant, email="bob@globex.example")
    from tenants.services.users import set_active

    set_active(user, False)
    _, refused = federated_sign_in(globex_op.base)
    assert refused.status_code == 400 and "deactivated" in refused.text


def test_connections_are_tenant_scoped(globex_op, other_tenant, live_server):
    import requests

    # Acme's connection does not exist under Globex's URLs (the same slug, another tenant).
    for path in ("login", "callback?state=x&code=y"):
        answer = requests.get(
            f"{live_server.url}/t/globex/federation/oidc/globex/{path}", timeout=10, allow_redirects=False
        )
        assert answer.status_code == 404 and "no such sign-in option" in answer.text
    unknown = requests.get(f"{live_server.url}/t/acme/federation/oidc/nope/login", timeout=10, allow_redirects=False)
    assert unknown.status_code == 404
    assert AuditEvent.objects.filter(
        tenant=other_tenant, action="login.failed", details__reason="unknown_connection"
    ).exists()


def test_a_fresh_sign_in_is_asked_of_the_provider_too(globex_op, tenant):
    """An application asks Acme for prompt=login; the user picks Globex: Globex must authenticate
    again (OIDC Core §3.1.2.1), its session cannot stand in for the fresh sign-in."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    from oauth.services.clients import ClientSpec, create_client
    from tests.oauth.tokens import REDIRECT_URI

    app, _ = create_client(tenant, ClientSpec(name="App", redirect_uris=[REDIRECT_URI]))
    browser, page = federated_sign_in(globex_op.base)  # signed in at Acme (through Globex) and at Globex
    assert page.status_code == 200

    def federation_start(prompt: str):
        query = {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "state": "s",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "prompt": prompt,
        }
        authorize = browser.session.get(
            f"{globex_op.base}/t/acme/api/v1/oauth/authorize?{urlencode(query)}", allow_redirects=False, timeout=10
        )
        assert authorize.status_code == 302 and "/t/acme/login" in authorize.headers["Location"]
        next_url = parse_qs(urlsplit(authorize.headers["Location"]).query)["next"][0]
        start = browser.session.get(
            f"{globex_op.base}/t/acme/federation/oidc/globex/login",
            params={"next": next_url},
            allow_redirects=False,
            timeout=10,
        )
        return parse_qs(urlsplit(start.headers["Location"]).query), start

    upstream, start = federation_start("login")
    assert upstream["prompt"] == ["login"]
    # Globex, although bob is signed in there, shows its sign-in page instead of answering at once.
    at_globex = browser.session.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_globex.status_code == 302 and "/t/globex/login" in at_globex.headers["Location"]
    # An ordinary start (no fresh sign-in demanded) asks the provider for nothing more.
    plain = browser.session.get(
        f"{globex_op.base}/t/acme/federation/oidc/globex/login",
        params={"next": "/t/acme/account"},
        allow_redirects=False,
        timeout=10,
    )
    assert "prompt" not in parse_qs(urlsplit(plain.headers["Location"]).query)
