"""The portal's OAuth client editing, registration tokens and organization settings (Django test client)."""

import json
import re

import pytest
from django.test import Client as HttpClient

from lumoauth.events.models import AuditEvent
from oauth.models import Client, InitialAccessToken
from oauth.services.clients import ClientSpec, create_client
from tenants.models import Tenant
from tenants.policy import TenantPolicy, tenant_policy, update_tenant_policy

pytestmark = pytest.mark.django_db

REDIRECT = "https://app.example.com/callback"


@pytest.fixture
def web_app(tenant):
    client, _ = create_client(tenant, ClientSpec(name="Web app", redirect_uris=[REDIRECT]))
    return client


def _client_form(client: Client, **overrides) -> dict:
    data = {
        "name": client.name,
        "client_type": client.client_type,
        "grant_types": client.grant_types,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": "\n".join(client.redirect_uris.split()),
        "post_logout_redirect_uris": "",
        "token_format": client.token_format,
        "access_token_lifetime": client.access_token_lifetime,
        "refresh_token_lifetime": client.refresh_token_lifetime,
        "allowed_scopes": "",
    }
    return data | overrides


def _events(tenant, action):
    return AuditEvent.objects.filter(tenant=tenant, action=action)


# ---- editing a client ----------------------------------------------------------------------------
def test_edit_page_shows_the_client_as_registered(admin_client, web_app):
    page = admin_client.get(f"/t/acme/portal/clients/{web_app.client_id}/")
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["redirect_uris"] == REDIRECT and form.initial["grant_types"] == ["authorization_code"]
    assert web_app.client_id.encode() in page.content


def test_edit_saves_the_changes_and_audits_them(admin_client, tenant, admin, web_app):
    response = admin_client.post(
        f"/t/acme/portal/clients/{web_app.client_id}/",
        _client_form(
            web_app,
            name="Web app v2",
            grant_types=["authorization_code", "refresh_token"],
            redirect_uris=f"{REDIRECT}\nhttps://app.example.com/other",
            token_format="opaque",
            access_token_lifetime=600,
            skip_consent="on",
        ),
    )
    assert response.status_code == 302 and response["Location"] == "/t/acme/portal/clients/"
    web_app.refresh_from_db()
    assert web_app.name == "Web app v2"
    assert web_app.grant_types == ["authorization_code", "refresh_token"]
    assert web_app.redirect_uris.split() == [REDIRECT, "https://app.example.com/other"]
    assert (web_app.token_format, web_app.access_token_lifetime, web_app.skip_authorization) == ("opaque", 600, True)
    event = _events(tenant, "client.updated").get()
    assert event.actor_id == str(admin.pk) and event.target_id == web_app.client_id


def test_ciba_switches_delivery_mode_and_notification_endpoint(admin_client, tenant, web_app):
    url = f"/t/acme/portal/clients/{web_app.client_id}/"
    ciba = ["authorization_code", "urn:openid:params:grant-type:ciba"]
    missing = admin_client.post(url, _client_form(web_app, grant_types=ciba, backchannel_token_delivery_mode="ping"))
    assert missing.status_code == 400
    errors = missing.context["form"].errors["backchannel_client_notification_endpoint"]
    assert "Ping mode needs a client notification endpoint." in errors
    web_app.refresh_from_db()
    assert "urn:openid:params:grant-type:ciba" not in web_app.grant_types
    response = admin_client.post(
        url,
        _client_form(
            web_app,
            grant_types=ciba,
            backchannel_token_delivery_mode="ping",
            backchannel_client_notification_endpoint="https://app.example.com/ciba/ping",
        ),
    )
    assert response.status_code == 302
    web_app.refresh_from_db()
    assert web_app.backchannel_token_delivery_mode == "ping"
    assert web_app.backchannel_client_notification_endpoint == "https://app.example.com/ciba/ping"
    page = admin_client.get(url)
    assert page.context["form"].initial["backchannel_token_delivery_mode"] == "ping"
    # Switching CIBA off clears the mode; a leftover endpoint is refused in place.
    code_only = ["authorization_code"]
    off = admin_client.post(
        url,
        _client_form(web_app, grant_types=code_only, backchannel_client_notification_endpoint="https://x.example/cb"),
    )
    assert off.status_code == 400
    errors = off.context["form"].errors["backchannel_client_notification_endpoint"]
    assert errors == ["Enable the CIBA grant type for a notification endpoint."]
    assert admin_client.post(url, _client_form(web_app, grant_types=code_only)).status_code == 302
    web_app.refresh_from_db()
    assert (web_app.backchannel_token_delivery_mode, web_app.backchannel_client_notification_endpoint) == ("", "")


def test_edit_errors_are_shown_in_place_and_nothing_is_saved(admin_client, tenant, web_app):
    response = admin_client.post(
        f"/t/acme/portal/clients/{web_app.client_id}/",
        _client_form(web_app, name="Renamed", redirect_uris="http://evil.example.com/cb"),
    )
    assert response.status_code == 400
    assert "use https" in " ".join(response.context["form"].errors["redirect_uris"])
    assert b"Renamed" in response.content  # what was typed is kept
    web_app.refresh_from_db()
    assert web_app.name == "Web app" and not _events(tenant, "client.updated").exists()


def test_switching_to_or_from_a_secret_is_refused_in_place(admin_client, web_app):
    response = admin_client.post(
        f"/t/acme/portal/clients/{web_app.client_id}/",
        _client_form(web_app, client_type="public", token_endpoint_auth_method="none"),
    )
    assert response.status_code == 400
    assert response.context["form"].errors["token_endpoint_auth_method"]
    web_app.refresh_from_db()
    assert web_app.client_type == "confidential"


def test_another_tenants_client_is_unknown(admin_client, other_tenant, tenant, make_user, sign_in, web_app):
    foreign, _ = create_client(other_tenant, ClientSpec(name="Globex app", redirect_uris=[REDIRECT]))
    assert admin_client.get(f"/t/acme/portal/clients/{foreign.client_id}/").status_code == 404
    assert admin_client.post(f"/t/acme/portal/clients/{foreign.client_id}/", _client_form(foreign)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.name == "Globex app"
    member = HttpClient()
    make_user(tenant, "alice")
    sign_in(member, tenant, "alice")
    assert member.get(f"/t/acme/portal/clients/{web_app.client_id}/").status_code == 404


def test_new_clients_start_from_the_tenants_default_lifetimes(admin_client, tenant):
    update_tenant_policy(tenant, policy=TenantPolicy(access_token_lifetime=900, refresh_token_lifetime=7200))
    form = admin_client.get("/t/acme/portal/clients/").context["form"]
    assert (form["access_token_lifetime"].initial, form["refresh_token_lifetime"].initial) == (900, 7200)
    # Registered without lifetimes (e.g. through RFC 7591 registration): the tenant's defaults.
    client, _ = create_client(Tenant.objects.get(pk=tenant.pk), ClientSpec(name="x", redirect_uris=[REDIRECT]))
    assert (client.access_token_lifetime, client.refresh_token_lifetime) == (900, 7200)


# ---- registration tokens -------------------------------------------------------------------------
def test_registration_token_is_shown_once_and_registers_a_client(admin_client, tenant, admin):
    response = admin_client.post("/t/acme/portal/registration-tokens/", {"label": "Team Rocket", "expires_in_days": 7})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = re.search(rb'id="registration-token">([^<]+)<', response.content).group(1).decode()
    saved = InitialAccessToken.objects.get(tenant=tenant)
    assert saved.label == "Team Rocket" and token not in saved.token_hash
    assert _events(tenant, "initial_access_token.created").get().actor_id == str(admin.pk)

    listing = admin_client.get("/t/acme/portal/registration-tokens/")
    assert b"Team Rocket" in listing.content and token.encode() not in listing.content

    registered = HttpClient().post(
        "/t/acme/api/v1/oauth/register",
        json.dumps({"redirect_uris": [REDIRECT], "client_name": "Self-registered"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert registered.status_code == 201

    revoked = admin_client.post(f"/t/acme/portal/registration-tokens/{saved.pk}/revoke")
    assert revoked.status_code == 302
    assert _events(tenant, "initial_access_token.revoked").get().actor_id == str(admin.pk)
    refused = HttpClient().post(
        "/t/acme/api/v1/oauth/register",
        json.dumps({"redirect_uris": [REDIRECT]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 401
    assert b"revoked" in admin_client.get("/t/acme/portal/registration-tokens/").content


def test_registration_token_form_errors_and_empty_state(admin_client, tenant):
    assert b"No registration tokens yet." in admin_client.get("/t/acme/portal/registration-tokens/").content
    response = admin_client.post("/t/acme/portal/registration-tokens/", {"label": "", "expires_in_days": "0"})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"label", "expires_in_days"}
    assert not InitialAccessToken.objects.exists()


def test_another_tenants_registration_token_cannot_be_revoked(admin_client, other_tenant):
    from oauth.services.registration import create_initial_access_token

    foreign, _ = create_initial_access_token(other_tenant, label="globex")
    assert admin_client.post(f"/t/acme/portal/registration-tokens/{foreign.pk}/revoke").status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


# ---- organization settings -----------------------------------------------------------------------
SETTINGS = {
    "name": "Acme Corporation",
    "access_token_lifetime": 1800,
    "refresh_token_lifetime": 86400,
    "password_min_length": 14,
    "password_require_digit": "on",
    "allowed_email_domains": "acme.example\n@Acme.Test",
}


def test_settings_are_saved_and_audited(admin_client, tenant, admin):
    response = admin_client.post("/t/acme/portal/settings/", SETTINGS)
    assert response.status_code == 302
    tenant.refresh_from_db()
    policy = tenant_policy(tenant)
    assert tenant.name == "Acme Corporation"
    assert (policy.access_token_lifetime, policy.refresh_token_lifetime, policy.password_min_length) == (
        1800,
        86400,
        14,
    )
    assert policy.password_require_digit and not policy.password_require_symbol
    assert policy.allowed_email_domains == ("acme.example", "acme.test")
    event = _events(tenant, "tenant.updated").get()
    assert event.actor_id == str(admin.pk)
    assert set(event.details["policy"]) == {
        "access_token_lifetime",
        "refresh_token_lifetime",
        "password_min_length",
        "password_require_digit",
        "allowed_email_domains",
    }
    page = admin_client.get("/t/acme/portal/settings/")
    assert page.context["form"].initial["allowed_email_domains"] == "acme.example\nacme.test"


def test_settings_errors_are_shown_in_place(admin_client, tenant):
    response = admin_client.post(
        "/t/acme/portal/settings/",
        SETTINGS | {"allowed_email_domains": "acme.example\nnot a domain", "password_min_length": 4},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "password_min_length" in errors
    assert b"not a domain" in response.content
    response = admin_client.post("/t/acme/portal/settings/", SETTINGS | {"allowed_email_domains": "exa mple..com"})
    assert response.status_code == 400 and "Not a domain name" in " ".join(
        response.context["form"].errors["allowed_email_domains"]
    )
    tenant.refresh_from_db()
    assert tenant.name != "Acme Corporation"
    assert not _events(tenant, "tenant.updated").exists()


def test_settings_need_csrf_and_are_for_admins_only(tenant, admin, make_user, sign_in, other_tenant):
    strict = HttpClient(enforce_csrf_checks=True)
    sign_in(strict, tenant, "boss")
    assert strict.post("/t/acme/portal/settings/", SETTINGS).status_code == 403
    member = HttpClient()
    make_user(tenant, "alice")
    sign_in(member, tenant, "alice")
    assert member.get("/t/acme/portal/settings/").status_code == 404
    assert member.post("/t/acme/portal/settings/", SETTINGS).status_code == 404
    foreign = HttpClient()
    make_user(other_tenant, "root", is_tenant_admin=True)
    sign_in(foreign, other_tenant, "root")
    assert foreign.post("/t/acme/portal/settings/", SETTINGS).status_code == 302  # to acme's sign-in
    tenant.refresh_from_db()
    assert tenant_policy(tenant).password_min_length == 10
