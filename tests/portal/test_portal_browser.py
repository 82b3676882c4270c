"""The portal in a real browser: headless Chromium (Debian's) driven by Playwright."""

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_creates_then_deactivates_a_user(chromium, live_server, tenant, make_user):
    make_user(tenant, "boss", is_tenant_admin=True)
    page = chromium.new_page()
    page.goto(f"{live_server.url}/t/acme/portal/users/")
    # Sent to the tenant's own sign-in page first.
    page.fill("input[name=identifier]", "boss")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/users/")
    assert page.inner_text("h1") == "Users"

    page.click("text=New user")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=email]", "not-an-email")
    page.fill("input[name=given_name]", "Dana")
    page.click("button:has-text('Create user')")
    assert "Enter a valid email address." in page.content()
    assert page.input_value("input[name=given_name]") == "Dana"  # kept what was typed
    page.fill("input[name=email]", "dana@acme.example")
    page.click("button:has-text('Create user')")
    page.wait_for_url("**/portal/users/")
    assert "User dana created." in page.content()
    row = page.locator("tr", has_text="dana")
    page.once("dialog", lambda dialog: dialog.accept())  # "Deactivate dana?"
    row.locator("button:has-text('Deactivate')").click()
    page.wait_for_selector("text=User dana deactivated.")
    assert "deactivated" in page.locator("tr", has_text="dana").inner_text()
    screenshot(page, "users")

    page.click("text=Dashboard")
    assert "users (1 active)" in page.content()

    # Groups: create one, add dana, remove her again after confirming.
    page.click("nav >> text=Groups")
    page.fill("input[name=name]", "Support")
    page.click("button:has-text('Create group')")
    page.click("a:has-text('Support')")
    page.fill("input[name=identifier]", "dana@acme.example")
    page.click("button:has-text('Add member')")
    page.wait_for_selector("text=dana added.")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="dana").locator("button:has-text('Remove')").click()
    page.wait_for_selector("text=dana removed.")
    assert "No members yet." in page.content()

    # OAuth clients: register a service; its secret is shown once.
    page.click("nav >> text=OAuth clients")
    page.fill("input[name=name]", "Billing service")
    page.uncheck("input[value=authorization_code]")
    page.check("input[value=client_credentials]")
    page.click("button:has-text('Register client')")
    assert "shown only once" in page.content()
    assert len(page.inner_text("#client-secret")) > 30
    page.click("text=Back to OAuth clients")
    assert "Billing service" in page.content()
    page.close()
