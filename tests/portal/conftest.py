"""Shared fixtures for the portal's browser tests: Debian's headless Chromium driven by Playwright."""

import os
import shutil
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Screenshots of the main pages land here (git-ignored), so anyone can see what an admin sees.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    # Playwright's sync API runs an event loop; Django must allow its sync ORM calls meanwhile
    # (for these tests only: the variable is removed again afterwards).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def admin(tenant, make_user):
    """The tenant admin `boss` of acme."""
    return make_user(tenant, "boss", is_tenant_admin=True)


@pytest.fixture
def admin_client(tenant, admin, sign_in):
    """Django's test client signed in to acme as `boss`, through the real sign-in."""
    client = Client()
    sign_in(client, tenant, "boss")
    return client


@pytest.fixture
def admin_page(chromium, live_server, tenant, make_user):
    """A browser page signed in to the acme portal as tenant admin `boss`, through the real sign-in page."""
    make_user(tenant, "boss", is_tenant_admin=True)
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{live_server.url}/t/{tenant.slug}/portal/")
    page.fill("input[name=identifier]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/")
    page.base = f"{live_server.url}/t/{tenant.slug}/portal/"
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
