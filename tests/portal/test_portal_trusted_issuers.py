"""Trusted token issuers (RFC 8693) and the tenant-wide "require pushed authorization requests"
switch in the portal: Django's test client through the real views, and one browser step."""

import json
import re

import pytest
from django.test import Client as HttpClient
from jwcrypto.jwk import JWK

from lumoauth.events.models import AuditEvent
from oauth.models import SubjectMatch, TrustedIssuer
from oauth.services.server_settings import requires_pushed_authorization_requests
from oauth.services.trusted_issuers import TrustedIssuerSpec, create_trusted_issuer
from tenants.models import Tenant
from tests.conftest import PASSWORD
from tests.portal.conftest import screenshot

pytestmark = pytest.mark.django_db

ISSUERS = "/t/acme/portal/trusted-issuers/"
AGENTS = "https://agents.example.net"
DISCOVERY = "/t/acme/api/v1/.well-known/openid-configuration"


def public_jwks(kid: str = "ext-1") -> dict:
    return {"keys": [JWK.generate(kty="EC", crv="P-256", kid=kid).export_public(as_dict=True)]}


PRIVATE_AND_PUBLIC = {
    "keys": [
        JWK.generate(kty="EC", crv="P-256", kid="pub").export_public(as_dict=True),
        JWK.generate(kty="EC", crv="P-256", kid="priv").export_private(as_dict=True),
    ]
}


@pytest.fixture
def agents(tenant):
    return create_trusted_issuer(
        tenant,
        TrustedIssuerSpec(name="Agent platform", issuer=AGENTS, jwks=public_jwks(), subject_match=SubjectMatch.EMAIL),
    )


def _form(**overrides) -> dict:
    data = {
        "name": "Agent platform",
        "issuer": AGENTS,
        "jwks_uri": "",
        "jwks": json.dumps(public_jwks()),
        "audience": "",
        "allowed_scopes": "",
        "subject_match": "none",
        "active": "on",
    }
    return data | overrides


def _events(tenant, action):
    return AuditEvent.objects.filter(tenant=tenant, action=action)


# ---- list, create, edit, delete ------------------------------------------------------------------
def test_the_list_starts_empty_and_is_reached_from_the_clients_page(admin_client):
    clients = admin_client.get("/t/acme/portal/clients/")
    assert f'href="{ISSUERS}"'.encode() in clients.content
    page = admin_client.get(ISSUERS)
    assert page.status_code == 200 and b"No trusted issuers yet." in page.content
    assert b'aria-current="page">OAuth clients</a>' in page.content
    # The default audience is this organization's issuer, said next to the field.
    assert b"http://testserver/t/acme/api/v1" in page.content


def test_an_admin_adds_an_issuer_with_inline_keys(admin_client, tenant, admin):
    jwks = public_jwks()
    response = admin_client.post(
        ISSUERS,
        _form(jwks=json.dumps(jwks), subject_match="email", allowed_scopes="  openid   calendar.read "),
    )
    assert response.status_code == 302 and response["Location"] == ISSUERS
    trusted = TrustedIssuer.objects.get(tenant=tenant)
    assert (trusted.name, trusted.issuer, trusted.jwks, trusted.jwks_uri) == ("Agent platform", AGENTS, jwks, "")
    assert (trusted.subject_match, trusted.allowed_scopes, trusted.active) == ("email", "openid calendar.read", True)
    event = _events(tenant, "trusted_issuer.created").get()
    assert event.actor_id == str(admin.pk) and event.actor_label == "boss"
    assert event.target_id == str(trusted.pk) and event.details["issuer"] == AGENTS
    listing = admin_client.get(ISSUERS)
    text = listing.content.decode()
    assert "is now a trusted issuer" in text
    assert "Agent platform" in text and AGENTS in text and "1 inline key" in text and "users by email" in text


def test_an_issuer_with_a_keys_url_for_actors_only(admin_client, tenant):
    response = admin_client.post(
        ISSUERS, _form(jwks="", jwks_uri="https://agents.example.net/jwks", audience="https://api.acme.example")
    )
    assert response.status_code == 302
    trusted = TrustedIssuer.objects.get(tenant=tenant)
    assert (trusted.jwks, trusted.jwks_uri) == ({}, "https://agents.example.net/jwks")
    assert (trusted.subject_match, trusted.audience) == ("none", "https://api.acme.example")
    text = admin_client.get(ISSUERS).content.decode()
    assert "https://agents.example.net/jwks" in text and "actors only" in text


def test_edit_shows_the_issuer_and_saves_changes(admin_client, tenant, admin, agents):
    url = f"{ISSUERS}{agents.pk}/"
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["issuer"] == AGENTS and form.initial["subject_match"] == "email"
    assert json.loads(form["jwks"].field.prepare_value(form.initial["jwks"])) == agents.jwks  # shown as JSON
    assert b"&quot;keys&quot;" in page.content
    saved = admin_client.post(url, _form(name="Agents v2", subject_match="username", active=""))
    assert saved.status_code == 302 and saved["Location"] == ISSUERS
    agents.refresh_from_db()
    assert (agents.name, agents.subject_match, agents.active) == ("Agents v2", "username", False)
    event = _events(tenant, "trusted_issuer.updated").get()
    assert event.actor_id == str(admin.pk) and event.target_id == str(agents.pk)
    text = admin_client.get(ISSUERS).content.decode()
    assert "Trusted issuer Agents v2 saved." in text and "inactive" in text and "users by username" in text


def test_delete_asks_first_and_is_audited(admin_client, tenant, admin, agents):
    listing = admin_client.get(ISSUERS).content.decode()
    assert 'class="inline confirm" data-confirm="Stop trusting Agent platform?' in listing
    delete = f"{ISSUERS}{agents.pk}/delete"
    assert admin_client.get(delete).status_code == 405
    response = admin_client.post(delete)
    assert response.status_code == 302 and response["Location"] == ISSUERS
    assert not TrustedIssuer.objects.exists()
    event = _events(tenant, "trusted_issuer.deleted").get()
    assert event.actor_id == str(admin.pk) and event.target_label == "Agent platform"
    assert b"No trusted issuers yet." in admin_client.get(ISSUERS).content


# ---- errors in place, nothing saved --------------------------------------------------------------
@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"jwks": ""}, "jwks"),  # no keys at all
        ({"jwks_uri": "https://agents.example.net/jwks"}, "jwks"),  # both
        ({"jwks": "{not json"}, "jwks"),
        ({"jwks": "[1, 2]"}, "jwks"),
        ({"jwks": "[" * 5000}, "jwks"),
        ({"jwks": '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'}, "jwks"),  # no public key
        ({"jwks": json.dumps(PRIVATE_AND_PUBLIC)}, "jwks"),  # a private key pasted by mistake is never stored
        ({"jwks": "", "jwks_uri": "http://agents.example.net/jwks"}, "jwks_uri"),
        ({"jwks": "", "jwks_uri": "https://not a url"}, "jwks_uri"),
        ({"issuer": "https://agents .example"}, "issuer"),
        ({"issuer": "https://id.acme.example/t/acme/api/v1"}, "issuer"),  # this organization's own
        ({"issuer": ""}, "issuer"),
        ({"name": ""}, "name"),
        ({"subject_match": "anyone"}, "subject_match"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_bad_input_is_refused_in_place(admin_client, tenant, settings, overrides, field):
    settings.LUMOAUTH_BASE_URL = "https://id.acme.example"
    data = _form(**overrides)
    response = admin_client.post(ISSUERS, data)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert f'id="id_{field}_error"'.encode() in response.content  # next to the field
    assert form["name"].value() == data["name"] and form["issuer"].value() == data["issuer"]  # kept
    assert not TrustedIssuer.objects.exists()
    assert not _events(tenant, "trusted_issuer.created").exists()


def test_an_issuer_trusted_twice_is_refused_in_place(admin_client, tenant, agents):
    response = admin_client.post(ISSUERS, _form(name="Again"))
    assert response.status_code == 400 and "already trusted" in " ".join(response.context["form"].errors["issuer"])
    assert TrustedIssuer.objects.count() == 1


def test_a_refused_edit_keeps_what_was_typed_and_saves_nothing(admin_client, tenant, agents):
    other = create_trusted_issuer(
        tenant, TrustedIssuerSpec(name="Workloads", issuer="https://workloads.example", jwks=public_jwks())
    )
    url = f"{ISSUERS}{agents.pk}/"
    refused = admin_client.post(url, _form(name="Renamed", jwks="", jwks_uri="ftp://keys.example/"))
    assert refused.status_code == 400 and "jwks_uri" in refused.context["form"].errors
    assert b'value="Renamed"' in refused.content and b"<h1>Agent platform</h1>" in refused.content
    # Taking another trusted issuer's iss trips the uniqueness constraint: an error, not a 500.
    duplicate = admin_client.post(url, _form(name="Renamed", issuer=other.issuer))
    assert duplicate.status_code == 400 and duplicate.context["form"].errors
    assert b"<h1>Agent platform</h1>" in duplicate.content
    agents.refresh_from_db()
    assert (agents.name, agents.issuer, agents.jwks_uri) == ("Agent platform", AGENTS, "")
    assert not _events(tenant, "trusted_issuer.updated").exists()


def test_a_nul_character_is_a_400(admin_client):
    assert admin_client.post(ISSUERS, _form(name="a\x00b")).status_code == 400
    assert not TrustedIssuer.objects.exists()


# ---- access, isolation, CSRF ---------------------------------------------------------------------
def test_another_tenants_issuer_is_not_found_and_not_listed(admin_client, tenant, other_tenant):
    theirs = create_trusted_issuer(
        other_tenant,
        TrustedIssuerSpec(name="Globex agents", issuer="https://globex-agents.example", jwks=public_jwks()),
    )
    url = f"{ISSUERS}{theirs.pk}/"
    assert admin_client.get(url).status_code == 404
    assert admin_client.post(url, _form(issuer=theirs.issuer)).status_code == 404
    assert admin_client.post(f"{url}delete").status_code == 404
    assert admin_client.get(f"{ISSUERS}{2**70}/").status_code == 404
    assert admin_client.post(f"{ISSUERS}{2**70}/delete").status_code == 404
    listing = admin_client.get(ISSUERS).content
    assert b"Globex agents" not in listing and b"globex-agents" not in listing
    theirs.refresh_from_db()
    assert theirs.name == "Globex agents"
    assert not AuditEvent.objects.filter(tenant=tenant, action__startswith="trusted_issuer.").exists()
    assert not AuditEvent.objects.filter(tenant=other_tenant, action="trusted_issuer.deleted").exists()


def test_members_strangers_and_other_tenants_admins_are_refused(tenant, other_tenant, make_user, sign_in, agents):
    make_user(tenant, "alice")
    member = HttpClient()
    sign_in(member, tenant, "alice")
    for url in (ISSUERS, f"{ISSUERS}{agents.pk}/"):
        assert member.get(url).status_code == 404
    assert member.post(ISSUERS, _form(issuer="https://other.example")).status_code == 404
    assert member.post(f"{ISSUERS}{agents.pk}/delete").status_code == 404
    make_user(other_tenant, "root", is_tenant_admin=True)
    foreign = HttpClient()
    sign_in(foreign, other_tenant, "root")
    assert foreign.get(ISSUERS).status_code == 302  # to acme's sign-in page
    assert foreign.post(f"{ISSUERS}{agents.pk}/delete").status_code == 302
    assert HttpClient().get(ISSUERS).status_code == 302
    assert TrustedIssuer.objects.filter(pk=agents.pk).exists()
    assert TrustedIssuer.objects.count() == 1


def strict_admin_client() -> tuple[HttpClient, str]:
    """A client that is refused without the CSRF token, signed in as boss through the sign-in form;
    with the token of a portal page (signing in rotates it)."""
    strict = HttpClient(enforce_csrf_checks=True)
    login = strict.get("/t/acme/login")
    strict.post(
        "/t/acme/login",
        {"identifier": "boss", "password": PASSWORD, "csrfmiddlewaretoken": str(login.context["csrf_token"])},
    )
    page = strict.get(ISSUERS)
    assert page.status_code == 200  # signed in
    return strict, re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()


def test_changes_need_the_csrf_token(tenant, admin, agents):
    strict, token = strict_admin_client()
    assert strict.post(ISSUERS, _form(issuer="https://other.example")).status_code == 403
    assert strict.post(f"{ISSUERS}{agents.pk}/", _form(name="Changed")).status_code == 403
    assert strict.post(f"{ISSUERS}{agents.pk}/delete").status_code == 403
    agents.refresh_from_db()
    assert agents.name == "Agent platform" and TrustedIssuer.objects.count() == 1
    # With the page's token the same posts go through.
    assert strict.post(f"{ISSUERS}{agents.pk}/", _form(name="Changed", csrfmiddlewaretoken=token)).status_code == 302
    assert strict.post(f"{ISSUERS}{agents.pk}/delete", {"csrfmiddlewaretoken": token}).status_code == 302


# ---- the tenant-wide PAR switch on the settings page ---------------------------------------------
SETTINGS = {
    "name": "Acme Corp",
    "access_token_lifetime": 3600,
    "refresh_token_lifetime": 30 * 86400,
    "password_min_length": 10,
}


def test_the_par_switch_changes_discovery(admin_client, tenant, admin):
    assert admin_client.get(DISCOVERY).json()["require_pushed_authorization_requests"] is False
    page = admin_client.get("/t/acme/portal/settings/")
    assert page.context["form"].initial["require_pushed_authorization_requests"] is False
    assert b'aria-describedby="id_require_pushed_authorization_requests_helptext"' in page.content
    assert b'id="id_require_pushed_authorization_requests_helptext"' in page.content

    on = admin_client.post("/t/acme/portal/settings/", SETTINGS | {"require_pushed_authorization_requests": "on"})
    assert on.status_code == 302
    assert requires_pushed_authorization_requests(Tenant.objects.get(pk=tenant.pk))
    assert admin_client.get(DISCOVERY).json()["require_pushed_authorization_requests"] is True
    events = list(_events(tenant, "tenant.updated").order_by("pk"))
    assert [e.details.get("oauth") for e in events] == [None, ["require_pushed_authorization_requests"]]
    assert all(e.actor_id == str(admin.pk) for e in events)
    page = admin_client.get("/t/acme/portal/settings/")
    assert page.context["form"].initial["require_pushed_authorization_requests"] is True
    assert re.search(rb'<input type="checkbox" name="require_pushed_authorization_requests"[^>]* checked', page.content)

    # Saving other settings keeps the switch (and does not audit it again).
    again = admin_client.post(
        "/t/acme/portal/settings/", SETTINGS | {"name": "Acme", "require_pushed_authorization_requests": "on"}
    )
    assert again.status_code == 302
    assert _events(tenant, "tenant.updated").filter(details__has_key="oauth").count() == 1
    assert admin_client.get(DISCOVERY).json()["require_pushed_authorization_requests"] is True

    off = admin_client.post("/t/acme/portal/settings/", SETTINGS)
    assert off.status_code == 302
    assert admin_client.get(DISCOVERY).json()["require_pushed_authorization_requests"] is False
    assert _events(tenant, "tenant.updated").filter(details__has_key="oauth").count() == 2


def test_the_par_switch_is_not_saved_when_the_settings_are_refused(admin_client, tenant):
    refused = admin_client.post(
        "/t/acme/portal/settings/",
        SETTINGS | {"password_min_length": 4, "require_pushed_authorization_requests": "on"},
    )
    assert refused.status_code == 400 and "password_min_length" in refused.context["form"].errors
    assert refused.context["form"]["require_pushed_authorization_requests"].value() is True  # kept as typed
    assert not requires_pushed_authorization_requests(Tenant.objects.get(pk=tenant.pk))
    assert admin_client.get(DISCOVERY).json()["require_pushed_authorization_requests"] is False
    assert not _events(tenant, "tenant.updated").exists()


def test_the_par_switch_needs_csrf_and_an_admin(tenant, admin, make_user, sign_in, other_tenant):
    data = SETTINGS | {"require_pushed_authorization_requests": "on"}
    strict, _ = strict_admin_client()
    assert strict.post("/t/acme/portal/settings/", data).status_code == 403
    make_user(tenant, "alice")
    member = HttpClient()
    sign_in(member, tenant, "alice")
    assert member.post("/t/acme/portal/settings/", data).status_code == 404
    make_user(other_tenant, "root", is_tenant_admin=True)
    foreign = HttpClient()
    sign_in(foreign, other_tenant, "root")
    assert foreign.post("/t/acme/portal/settings/", data).status_code == 302
    assert not requires_pushed_authorization_requests(Tenant.objects.get(pk=tenant.pk))


# ---- in the browser -------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_browser_admin_adds_edits_and_deletes_a_trusted_issuer(admin_page, tenant):
    page = admin_page
    page.goto(page.base + "clients/")
    page.click("a:has-text('Trusted issuers')")
    page.wait_for_url("**/portal/trusted-issuers/")
    assert "No trusted issuers yet." in page.content()
    page.fill("input[name=name]", "Agent platform")
    page.fill("input[name=issuer]", AGENTS)
    page.fill("textarea[name=jwks]", "{not json")
    page.check("input[name=subject_match][value=email]")
    page.click("button:has-text('Add issuer')")
    assert page.locator(".field.has-error").count() == 1 and "Not valid JSON." in page.content()
    assert page.input_value("input[name=issuer]") == AGENTS  # kept what was typed
    assert page.is_checked("input[name=subject_match][value=email]")
    page.fill("textarea[name=jwks]", json.dumps(public_jwks()))
    page.click("button:has-text('Add issuer')")
    page.wait_for_selector("text=Agent platform is now a trusted issuer.")
    assert "users by email" in page.locator("tr", has_text="Agent platform").inner_text()
    screenshot(page, "trusted-issuers")

    page.click("a:has-text('Agent platform')")
    assert json.loads(page.input_value("textarea[name=jwks]"))["keys"][0]["kid"] == "ext-1"
    screenshot(page, "trusted-issuer")
    page.uncheck("input[name=active]")
    page.click("button:has-text('Save issuer')")
    page.wait_for_selector("text=Trusted issuer Agent platform saved.")
    assert "inactive" in page.locator("tr", has_text="Agent platform").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())  # "Stop trusting Agent platform?"
    page.locator("tr", has_text="Agent platform").locator("button:has-text('Delete')").click()
    page.wait_for_selector("text=Agent platform is no longer trusted.")
    assert "No trusted issuers yet." in page.content()
    assert list(
        AuditEvent.objects.filter(tenant=tenant, action__startswith="trusted_issuer.")
        .order_by("pk")
        .values_list("action", "actor_label")
    ) == [
        ("trusted_issuer.created", "boss"),
        ("trusted_issuer.updated", "boss"),
        ("trusted_issuer.deleted", "boss"),
    ]

    page.click("nav >> text=Settings")
    page.check("input[name=require_pushed_authorization_requests]")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("text=Settings saved.")
    assert page.is_checked("input[name=require_pushed_authorization_requests]")
    assert requires_pushed_authorization_requests(Tenant.objects.get(pk=tenant.pk))
