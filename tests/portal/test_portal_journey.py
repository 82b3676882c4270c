"""What a tenant admin does in the portal, in headless Chromium: the issue's browser journey."""

import pytest

from tests.conftest import PASSWORD

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_registers_copies_rotates_and_edits_a_client(admin_page):
    page = admin_page
    screenshot(page, "dashboard")
    page.click("nav >> text=OAuth clients")
    page.fill("input[name=name]", "Billing service")
    page.uncheck("input[value=authorization_code]")
    page.check("input[value=client_credentials]")
    page.click("button:has-text('Register client')")
    assert "shown only once" in page.content()
    secret = page.inner_text("#client-secret")
    page.click("button[data-copy='#client-secret']")
    page.wait_for_selector("button:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "client-secret")

    page.click("text=Back to OAuth clients")
    row = page.locator("tr", has_text="Billing service")
    page.once("dialog", lambda dialog: dialog.accept())  # "Rotate the secret of Billing service?"
    row.locator("button:has-text('Rotate secret')").click()
    page.wait_for_selector("#client-secret")
    rotated = page.inner_text("#client-secret")
    assert rotated != secret and len(rotated) > 30

    page.click("text=Back to OAuth clients")
    page.click("a:has-text('Billing service')")
    page.fill("input[name=access_token_lifetime]", "30")  # below the minimum: refused in place
    page.fill("input[name=name]", "Billing API")
    page.click("button:has-text('Save client')")
    assert page.locator(".field.has-error").count() == 1
    assert page.input_value("input[name=name]") == "Billing API"  # kept what was typed
    page.fill("input[name=access_token_lifetime]", "900")
    page.select_option("select[name=token_format]", "opaque")
    page.click("button:has-text('Save client')")
    page.wait_for_selector("text=Client Billing API saved.")
    assert "opaque" in page.locator("tr", has_text="Billing API").inner_text()
    screenshot(page, "clients")


def test_admin_hands_out_a_registration_token_and_sets_policies(admin_page):
    page = admin_page
    page.goto(admin_page.base + "clients/")
    page.click("text=Registration tokens")
    assert "No registration tokens yet." in page.content()
    page.fill("input[name=label]", "Partner team")
    page.click("button:has-text('Create token')")
    assert len(page.inner_text("#registration-token")) > 30
    page.click("text=Back to registration tokens")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="Partner team").locator("button:has-text('Revoke')").click()
    page.wait_for_selector("text=revoked")

    page.click("nav >> text=Settings")
    page.fill("input[name=name]", "Acme Corporation")
    page.fill("textarea[name=allowed_email_domains]", "acme.example\nnot a domain")
    page.click("button:has-text('Save settings')")
    assert "Not a domain name: not, a, domain." in page.content()
    page.fill("textarea[name=allowed_email_domains]", "acme.example")
    page.check("input[name=password_require_digit]")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("text=Settings saved.")
    assert page.input_value("input[name=name]") == "Acme Corporation"
    assert page.is_checked("input[name=password_require_digit]")
    screenshot(page, "settings")


def test_ordinary_users_and_other_tenants_admins_are_refused(chromium, live_server, tenant, other_tenant, make_user):
    make_user(tenant, "alice")
    make_user(other_tenant, "root", is_tenant_admin=True)
    for slug, username in (("acme", "alice"), (other_tenant.slug, "root")):
        context = chromium.new_context()
        page = context.new_page()
        page.goto(f"{live_server.url}/t/{slug}/login")
        page.fill("input[name=identifier]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        response = page.goto(f"{live_server.url}/t/acme/portal/clients/")
        if slug == "acme":  # signed in, but not an admin: the portal does not exist for alice
            assert response.status == 404
        else:  # globex's admin is not signed in to acme at all: acme's own sign-in page
            assert "/t/acme/login" in page.url
            page.fill("input[name=identifier]", "root")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert "Incorrect username, email or password." in page.content()  # not a user of acme
            assert page.goto(f"{live_server.url}/t/acme/portal/clients/").url.endswith(
                "/t/acme/login?next=%2Ft%2Facme%2Fportal%2Fclients%2F"
            )
        context.close()
