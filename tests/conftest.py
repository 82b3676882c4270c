"""Shared fixtures: tenants and users made through the real services, a clean cache per test."""

import itertools

import pytest
from django.core.cache import cache

from lumoauth.memo import clear_all
from tenants.services.tenants import create_tenant
from tenants.services.users import create_user
from tests.browser import PASSWORD, Browser

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _clean_cache():
    # Throttle counters live in the cache (Redis in CI), lookups in process memos; every test
    # starts from zero (the database is rolled back between tests, so memos would be stale).
    cache.clear()
    clear_all()
    yield
    cache.clear()
    clear_all()


@pytest.fixture(autouse=True)
def _lumoauth_celery_app():
    # A test worker (celery.contrib.testing) makes its app the process-wide default; shared tasks
    # such as the webhook delivery would then publish to that test's (stopped) broker.
    from celery import _state

    from lumoauth.celery import app

    yield
    _state.set_default_app(app)
    app.set_current()


@pytest.fixture
def make_tenant(db):
    def make(slug: str | None = None, name: str | None = None):
        slug = slug or f"org{next(_counter)}"
        return create_tenant(slug, name or slug.title())

    return make


@pytest.fixture
def make_user(db):
    def make(tenant, username: str = "alice", password: str = PASSWORD, **fields):
        fields.setdefault("email", f"{username}@{tenant.slug}.example")
        return create_user(tenant, username, password=password, **fields)

    return make


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("acme", "Acme Corp")


@pytest.fixture
def other_tenant(make_tenant):
    return make_tenant("globex", "Globex")


@pytest.fixture
def sign_in():
    """POST the hosted sign-in form of `tenant` with a Django test client."""

    def submit(client, tenant, identifier, password=PASSWORD, prefix="t", **extra):
        data = {"identifier": identifier, "password": password, **extra}
        return client.post(f"/{prefix}/{tenant.slug}/login", data)

    return submit


@pytest.fixture
def browser(live_server):
    return Browser(live_server.url)


@pytest.fixture
def alice(tenant, make_user):
    return make_user(
        tenant,
        "alice",
        name="Alice Liddell",
        given_name="Alice",
        family_name="Liddell",
        email_verified=True,
        phone_number="+15550100",
    )
