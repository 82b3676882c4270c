"""The "Rate limits" fieldset of the organization settings: saved, validated in place, applied to
the endpoints, for this tenant only; and in headless Chromium."""

import pytest
from django.test import Client as HttpClient

from lumoauth.events.models import AuditEvent
from tenants.policy import tenant_policy
from tests.portal.conftest import screenshot

pytestmark = pytest.mark.django_db

BASE = {
    "name": "Acme Corp",
    "access_token_lifetime": 3600,
    "refresh_token_lifetime": 2592000,
    "password_min_length": 10,
    "allowed_email_domains": "",
}


def test_rate_limits_are_shown_saved_and_applied(admin_client, tenant, other_tenant):
    page = admin_client.get("/t/acme/portal/settings/")
    assert b"<legend>Rate limits</legend>" in page.content
    assert b'placeholder="600/min"' in page.content  # the platform default of the token endpoint
    response = admin_client.post(
        "/t/acme/portal/settings/", BASE | {"rate_limit_token": " 2/MIN ", "rate_limit_scim": "100/10s"}
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant_policy(tenant).rate_limits == {"token": "2/min", "scim": "100/10s"}
    event = AuditEvent.objects.filter(tenant=tenant, action="tenant.updated").latest("id")
    assert event.details["policy"] == ["rate_limits"]
    page = admin_client.get("/t/acme/portal/settings/")
    assert page.context["form"].initial["rate_limit_token"] == "2/min"
    # In force at once, for this tenant only.
    http = HttpClient()
    statuses = [http.post("/t/acme/api/v1/oauth/token", {"client_id": "x"}).status_code for _ in range(3)]
    assert statuses[2] == 429
    assert http.post(f"/t/{other_tenant.slug}/api/v1/oauth/token", {"client_id": "x"}).status_code != 429
    # Emptied: back to the platform default.
    assert admin_client.post("/t/acme/portal/settings/", BASE | {"rate_limit_scim": "100/10s"}).status_code == 302
    tenant.refresh_from_db()
    assert tenant_policy(tenant).rate_limits == {"scim": "100/10s"}


def test_bad_rate_limits_are_shown_in_place(settings, admin_client, tenant):
    settings.LUMOAUTH_RATE_LIMIT_TENANT_CEILING = 10
    response = admin_client.post(
        "/t/acme/portal/settings/",
        BASE | {"rate_limit_token": "lots", "rate_limit_signin": "off", "rate_limit_introspection": "1000000/s"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "is not a rate" in errors["rate_limit_token"][0]
    assert "cannot turn a rate limit off" in errors["rate_limit_signin"][0]
    assert "At most 10 times the platform's 1200/min" in errors["rate_limit_introspection"][0]
    tenant.refresh_from_db()
    assert tenant_policy(tenant).rate_limits == {}
    assert not AuditEvent.objects.filter(tenant=tenant, action="tenant.updated").exists()


def test_another_tenants_admin_cannot_change_them(tenant, other_tenant, make_user, sign_in):
    make_user(other_tenant, "root", is_tenant_admin=True)
    foreign = HttpClient()
    sign_in(foreign, other_tenant, "root")
    response = foreign.post("/t/acme/portal/settings/", BASE | {"rate_limit_token": "1/min"})
    assert response.status_code == 302 and "/t/acme/login" in response["Location"]
    tenant.refresh_from_db()
    assert tenant_policy(tenant).rate_limits == {}


def test_rate_limits_in_the_browser(admin_page, tenant):
    page = admin_page
    page.goto(page.base + "settings/")
    page.fill("input[name=rate_limit_token]", "ten per minute")
    page.click("button:has-text('Save settings')")
    assert "is not a rate such as 600/min" in page.content()
    page.fill("input[name=rate_limit_token]", "300/min")
    page.fill("input[name=rate_limit_signin]", "20/min")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("text=Settings saved.")
    assert page.input_value("input[name=rate_limit_token]") == "300/min"
    assert page.get_attribute("input[name=rate_limit_scim]", "placeholder") == "1200/min"
    tenant.refresh_from_db()
    assert tenant_policy(tenant).rate_limits == {"token": "300/min", "signin": "20/min"}
    page.locator("legend", has_text="Rate limits").scroll_into_view_if_needed()
    screenshot(page, "settings-rate-limits")
