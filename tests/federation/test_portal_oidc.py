"""The portal's OpenID Connect connections and domains: add, edit, verify, delete, tenant isolation,
bad input; once in headless Chromium through the real pages."""

import pytest
from django.test import Client

from lumoauth.events.models import AuditEvent
from oauth.federation import client_secret
from oauth.federation.models import OIDCConnection
from oauth.federation.services import create_connection
from tenants.domains.claims import claim_domain
from tenants.domains.models import DomainClaim
from tenants.models import FederatedIdentity
from tests.portal.conftest import screenshot

pytestmark = pytest.mark.django_db

OIDC = "/t/acme/portal/oidc/"
DOMAINS = "/t/acme/portal/domains/"


def edit_form(**overrides) -> dict:
    data = {
        "name": "Google",
        "client_id": "123.apps.googleusercontent.com",
        "client_secret": "",
        "scopes": "openid email profile",
        "claim_mapping": "email = email\ngiven_name = given_name",
        "default_groups": "",
        "group_claim": "",
        "group_mapping": "",
        "email_domains": "",
        "use_userinfo": "",
        "show_on_login": "on",
        "active": "on",
    }
    return {k: v for k, v in (data | overrides).items() if v is not None}


def test_add_a_google_connection(admin_client, tenant, admin):
    empty = admin_client.get(OIDC)
    assert empty.status_code == 200 and "No OpenID Connect connections yet" in empty.content.decode()
    assert "http://testserver/t/acme/federation/oidc/&lt;slug&gt;/callback" in empty.content.decode()
    added = admin_client.post(
        OIDC,
        {
            "preset": "google",
            "name": "Google",
            "slug": "google",
            "client_id": "123.apps",
            "client_secret": "s3cret-value",
        },
    )
    assert added.status_code == 302 and added["Location"] == f"{OIDC}google/"
    page = admin_client.get(added["Location"]).content.decode()
    assert 'id="redirect-uri">http://testserver/t/acme/federation/oidc/google/callback<' in page
    assert "https://accounts.google.com" in page and "s3cret-value" not in page
    assert 'href="/t/acme/federation/oidc/google/login"' in page  # Test sign-in
    connection = OIDCConnection.objects.get(tenant=tenant)
    assert client_secret.unseal(connection) == "s3cret-value"
    event = AuditEvent.objects.get(action="oidc.connection.created")
    assert event.actor_id == str(admin.pk) and event.details["preset"] == "google"
    assert "s3cret" not in str(event.details)


def test_create_form_errors(admin_client):
    for data, field in [
        ({"preset": "custom", "name": "X", "slug": "x", "client_id": "c", "client_secret": "s"}, "issuer"),
        ({"preset": "microsoft", "name": "X", "slug": "x", "client_id": "c", "client_secret": "s"}, "microsoft_tenant"),
        (
            {
                "preset": "microsoft",
                "name": "X",
                "slug": "x",
                "microsoft_tenant": "nope",
                "client_id": "c",
                "client_secret": "s",
            },
            "microsoft_tenant",
        ),
        (
            {
                "preset": "custom",
                "name": "X",
                "slug": "x",
                "issuer": "http://op.example",
                "client_id": "c",
                "client_secret": "s",
            },
            "issuer",
        ),
        ({"preset": "myspace", "name": "X", "slug": "x", "client_id": "c", "client_secret": "s"}, "preset"),
        ({"preset": "google", "name": "X", "slug": "not a slug", "client_id": "c", "client_secret": "s"}, "slug"),
    ]:
        response = admin_client.post(OIDC, data)
        assert response.status_code == 400 and response.context["form"].errors.get(field), (data, field)
    assert not OIDCConnection.objects.exists()


def test_edit_keeps_or_replaces_the_secret_and_claims_domains(admin_client, tenant):
    connection = create_connection(
        tenant, slug="google", name="Google", preset="google", client_id="c", client_secret="old"
    )
    saved = admin_client.post(
        f"{OIDC}google/",
        edit_form(
            client_id="c",
            email_domains="Corp.example, eng.corp.example",
            group_claim="groups",
            group_mapping="admins = Administrators",
        ),
    )
    assert saved.status_code == 302
    connection.refresh_from_db()
    assert connection.email_domains == ["corp.example", "eng.corp.example"]
    assert client_secret.unseal(connection) == "old"  # an empty secret field keeps it
    event = AuditEvent.objects.filter(action="oidc.connection.updated").latest("id")
    assert "client_secret" not in event.details["fields"] and "email_domains" in event.details["fields"]
    assert set(DomainClaim.objects.filter(tenant=tenant).values_list("domain", flat=True)) == {
        "corp.example",
        "eng.corp.example",
    }
    page = admin_client.get(f"{OIDC}google/").content.decode()
    claim = DomainClaim.objects.get(domain="corp.example")
    assert f"lumoauth-verification={claim.token}" in page and "_lumoauth.corp.example" in page
    assert "not verified" in page

    admin_client.post(
        f"{OIDC}google/", edit_form(client_id="c", client_secret="new-secret", email_domains="corp.example")
    )
    connection.refresh_from_db()
    assert client_secret.unseal(connection) == "new-secret"
    event = AuditEvent.objects.filter(action="oidc.connection.updated").latest("id")
    assert "client_secret" in event.details["fields"] and "new-secret" not in str(event.details)

    refused = admin_client.post(
        f"{OIDC}google/", edit_form(client_id="c", scopes="email", claim_mapping="is_tenant_admin = x")
    )
    assert refused.status_code == 400
    form = refused.context["form"]
    assert form.errors.get("scopes") and form.errors.get("claim_mapping")


def test_verify_a_domain_from_the_portal(admin_client, tenant, dns_server):
    claim = claim_domain(tenant, "corp.example")
    listing = admin_client.get(DOMAINS).content.decode()
    assert claim.record_value in listing and "no connection lists it" in listing
    failed = admin_client.post(f"{DOMAINS}{claim.pk}/verify")
    assert failed.status_code == 302 and failed["Location"] == DOMAINS
    assert "is not verified yet" in admin_client.get(DOMAINS).content.decode()
    dns_server.publish("_lumoauth.corp.example", claim.record_value)
    back = admin_client.post(f"{DOMAINS}{claim.pk}/verify", {"next": f"{OIDC}"})
    assert back["Location"] == OIDC
    claim.refresh_from_db()
    assert claim.is_verified
    assert admin_client.post(f"{DOMAINS}{claim.pk}/verify", {"next": "https://evil.example/"})["Location"] == DOMAINS
    # Claim a new one by hand; refuse garbage.
    assert admin_client.post(DOMAINS, {"domain": "other.example"}).status_code == 302
    assert admin_client.post(DOMAINS, {"domain": "not a domain"}).status_code == 400
    removed = admin_client.post(f"{DOMAINS}{claim.pk}/delete")
    assert removed.status_code == 302 and not DomainClaim.objects.filter(domain="corp.example").exists()
    actions = set(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
    assert {"domain.claimed", "domain.verified", "domain.verification_failed", "domain.claim_deleted"} <= actions


def test_delete_unlinks_identities(admin_client, tenant, make_user):
    connection = create_connection(
        tenant, slug="google", name="Google", preset="google", client_id="c", client_secret="s"
    )
    user = make_user(tenant, "ann")
    FederatedIdentity.objects.create(tenant=tenant, user=user, connection=connection.connection_key, subject="g-1")
    # The user's page names the connection, not its key.
    page = admin_client.get(f"/t/acme/portal/users/{user.sub}/").content.decode()
    assert "Google" in page and "oidc:" not in page
    assert admin_client.post(f"{OIDC}google/delete").status_code == 302
    assert not OIDCConnection.objects.exists() and not FederatedIdentity.objects.exists()
    assert AuditEvent.objects.get(action="oidc.connection.deleted").details["identities_unlinked"] == 1


def test_tenant_isolation_and_access(admin_client, tenant, other_tenant, make_user, sign_in, client):
    theirs = create_connection(
        other_tenant, slug="google", name="Google", preset="google", client_id="c", client_secret="s"
    )
    their_claim = claim_domain(other_tenant, "globex.example")
    # Acme's admin: Globex's objects do not exist here.
    assert admin_client.get(f"{OIDC}google/").status_code == 404
    for path in (
        f"{OIDC}google/delete",
        f"{OIDC}google/refresh",
        f"{DOMAINS}{their_claim.pk}/verify",
        f"{DOMAINS}{their_claim.pk}/delete",
    ):
        assert admin_client.post(path).status_code == 404, path
    assert (
        OIDCConnection.objects.filter(pk=theirs.pk).exists() and DomainClaim.objects.filter(pk=their_claim.pk).exists()
    )
    assert "No OpenID Connect connections yet" in admin_client.get(OIDC).content.decode()
    assert "globex.example" not in admin_client.get(DOMAINS).content.decode()
    # Not an admin: no portal. Anonymous: the sign-in page.
    make_user(tenant, "pleb")
    pleb = Client()
    sign_in(pleb, tenant, "pleb")
    assert pleb.get(OIDC).status_code == 404 and pleb.get(DOMAINS).status_code == 404
    anonymous = client.get(OIDC)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/t/acme/login?next=")
    assert client.post(f"{DOMAINS}1/verify").status_code in (302, 403)


def test_refresh_only_for_custom_connections(admin_client, tenant):
    create_connection(tenant, slug="google", name="Google", preset="google", client_id="c", client_secret="s")
    response = admin_client.post(f"{OIDC}google/refresh")
    assert response.status_code == 302
    assert "take their endpoints from the preset" in admin_client.get(f"{OIDC}google/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_browser_admin_adds_a_connection_and_verifies_its_domain(admin_page, tenant, dns_server):
    page = admin_page
    page.goto(page.base + "saml/")
    page.click("text=OpenID Connect")
    page.wait_for_url("**/portal/oidc/")
    assert page.inner_text("h1") == "OpenID Connect"
    page.select_option("select[name=preset]", "google")
    page.fill("input[name=name]", "Google")
    page.fill("input[name=slug]", "google")
    page.fill("input[name=client_id]", "123.apps.googleusercontent.com")
    page.fill("input[name=client_secret]", "s3cret")
    page.click("button:has-text('Add connection')")
    page.wait_for_selector("text=Google connected.")
    redirect_uri = page.inner_text("#redirect-uri")
    assert redirect_uri.endswith("/t/acme/federation/oidc/google/callback")
    page.click("button[data-copy='#redirect-uri']")
    page.wait_for_selector("button[data-copy='#redirect-uri']:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == redirect_uri
    assert page.get_attribute("a:has-text('Test sign-in')", "target") == "_blank"

    page.fill("textarea[name=email_domains]", "corp.example")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Google saved.")
    page.click("a:has-text('Google')")
    claim = DomainClaim.objects.get(tenant=tenant, domain="corp.example")
    assert claim.record_value in page.content()
    screenshot(page, "oidc-connection")
    dns_server.publish("_lumoauth.corp.example", claim.record_value)
    page.click("button:has-text('Verify')")
    page.wait_for_selector("text=corp.example is verified.")
    assert "/portal/oidc/google/" in page.url
    page.click("text=Domains")
    page.wait_for_url("**/portal/domains/")
    assert "verified" in page.locator("tr", has_text="corp.example").inner_text()
    screenshot(page, "domains")
    # The sign-in page now offers the button and routes the domain.
    page.goto(page.base.replace("/portal/", "/login"))
    assert page.locator("a[data-connection=oidc]").inner_text() == "Google"
    screenshot(page, "sign-in-with-connections")
