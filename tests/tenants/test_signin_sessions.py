"""Sign-in session tracking: a row per sign-in, ended by sign-out, administrators, deactivation,
password resets and deletion; an ended row signs its browser out on the next request."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lumoauth.events.api import Ref
from lumoauth.events.models import AuditEvent
from oauth.models import AccessToken, Consent, RefreshToken
from tenants.models import FederatedIdentity, Membership, SignInSession
from tenants.services.groups import add_member, create_group
from tenants.services.sessions import active_sessions, end_session, end_user_sessions, user_sessions
from tenants.services.users import delete_user, set_active, set_password, set_random_password
from tenants.signin.session import SESSION_KEY, session_user
from tests.conftest import PASSWORD
from tests.oauth.tokens import issue_tokens, web_client

pytestmark = pytest.mark.django_db

ADMIN = Ref("user", "999", "boss")


def signed_in(tenant, sign_in, username="alice", **headers):
    browser = Client(**headers)
    assert sign_in(browser, tenant, username).status_code == 302
    return browser


def is_signed_in(browser, tenant) -> bool:
    return browser.get(f"/t/{tenant.slug}/account").status_code == 200


def test_sign_in_records_a_session_and_sign_out_ends_it(tenant, alice, sign_in):
    browser = signed_in(tenant, sign_in, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="203.0.113.9")
    row = SignInSession.objects.get(user=alice)
    assert (row.tenant, row.ip, row.user_agent, row.amr, row.ended_at) == (
        tenant,
        "203.0.113.9",
        "Firefox/140",
        ["pwd"],
        None,
    )
    assert browser.session[SESSION_KEY][str(tenant.pk)]["key"] == row.key
    assert list(user_sessions(alice)) == [row] and list(active_sessions(tenant)) == [row]
    browser.post("/t/acme/logout")
    row.refresh_from_db()
    assert row.ended_at is not None and not user_sessions(alice).exists()


def test_signing_in_again_in_the_same_browser_replaces_the_session(tenant, alice, sign_in):
    browser = signed_in(tenant, sign_in)
    sign_in(browser, tenant, "alice")
    assert SignInSession.objects.filter(user=alice).count() == 2
    assert user_sessions(alice).count() == 1 and is_signed_in(browser, tenant)


def test_a_signed_in_request_costs_one_indexed_query(tenant, alice, sign_in):
    browser = signed_in(tenant, sign_in)
    request = RequestFactory().get("/t/acme/account")
    request.session = browser.session
    request.session.keys()  # the session store's own read, as SessionMiddleware's on any request
    with CaptureQueriesContext(connection) as queries:
        assert session_user(request, tenant) == alice
    assert len(queries) == 1 and "signinsession" in queries[0]["sql"].lower()


def test_last_seen_is_written_at_most_once_a_minute(tenant, alice, sign_in):
    browser = signed_in(tenant, sign_in)
    row = SignInSession.objects.get(user=alice)
    long_ago = timezone.now() - timedelta(minutes=5)
    SignInSession.objects.filter(pk=row.pk).update(last_seen_at=long_ago)
    assert is_signed_in(browser, tenant)
    row.refresh_from_db()
    seen = row.last_seen_at
    assert seen > long_ago + timedelta(minutes=4)
    assert is_signed_in(browser, tenant)
    row.refresh_from_db()
    assert row.last_seen_at == seen  # not rewritten within the minute


def test_an_ended_session_is_signed_out_on_its_next_request(tenant, alice, sign_in):
    laptop, phone = signed_in(tenant, sign_in), signed_in(tenant, sign_in)
    laptop_row = SignInSession.objects.get(key=laptop.session[SESSION_KEY][str(tenant.pk)]["key"])
    assert end_session(laptop_row, actor=ADMIN) is True
    assert not is_signed_in(laptop, tenant) and is_signed_in(phone, tenant)
    assert end_session(laptop_row, actor=ADMIN) is False  # already ended: nothing recorded twice
    event = AuditEvent.objects.get(action="session.revoked")
    assert (event.actor_label, event.target_id, event.tenant) == ("boss", str(alice.pk), tenant)
    assert event.details == {"sessions": 1, "session": laptop_row.pk, "reason": "revoked"}


def test_sign_out_everywhere_leaves_other_tenants_alone(tenant, other_tenant, alice, make_user, sign_in):
    make_user(other_tenant, "alice")
    laptop, phone = signed_in(tenant, sign_in), signed_in(tenant, sign_in)
    sign_in(laptop, other_tenant, "alice")  # the same browser is also signed in to globex
    globex_only = signed_in(other_tenant, sign_in)
    assert end_user_sessions(alice, actor=ADMIN) == 2
    assert not is_signed_in(laptop, tenant) and not is_signed_in(phone, tenant)
    assert is_signed_in(laptop, other_tenant) and is_signed_in(globex_only, other_tenant)
    assert active_sessions(other_tenant).count() == 2 and active_sessions(tenant).count() == 0
    assert AuditEvent.objects.get(action="session.revoked").details == {"sessions": 2, "reason": "revoked"}


def test_active_sessions_leave_out_expired_ones(tenant, alice, sign_in, settings):
    signed_in(tenant, sign_in)
    stale = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    SignInSession.objects.update(last_seen_at=stale)
    assert active_sessions(tenant).count() == 0


def test_a_sign_in_idle_longer_than_the_session_age_no_longer_signs_in(
    tenant, other_tenant, alice, make_user, sign_in, settings
):
    """The browser's session lives on through activity in another tenant; this tenant's sign-in,
    unseen for SESSION_COOKIE_AGE, has expired (as the portal already shows it)."""
    make_user(other_tenant, "alice")
    browser = signed_in(tenant, sign_in)
    sign_in(browser, other_tenant, "alice")
    stale = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    SignInSession.objects.filter(tenant=tenant).update(last_seen_at=stale)
    assert not is_signed_in(browser, tenant) and is_signed_in(browser, other_tenant)


def test_entry_without_a_session_row_is_not_signed_in(tenant, alice, sign_in):
    browser = signed_in(tenant, sign_in)
    session = browser.session
    entries = session[SESSION_KEY]
    del entries[str(tenant.pk)]["key"]  # as written before sessions were tracked
    session[SESSION_KEY] = entries
    session.save()
    assert not is_signed_in(browser, tenant)


def test_deactivation_ends_sessions(tenant, alice, sign_in):
    browser = signed_in(tenant, sign_in)
    set_active(alice, False, actor=ADMIN)
    assert not SignInSession.objects.filter(user=alice, ended_at__isnull=True).exists()
    set_active(alice, True, actor=ADMIN)
    assert not is_signed_in(browser, tenant)  # reactivating does not revive the session
    assert AuditEvent.objects.get(action="session.revoked").details["reason"] == "deactivated"


def test_password_reset_by_an_admin_ends_every_session(tenant, alice, sign_in):
    browser = signed_in(tenant, sign_in)
    password = set_random_password(alice, actor=ADMIN)
    assert not is_signed_in(browser, tenant)
    assert not user_sessions(alice).exists()
    assert sign_in(Client(), tenant, "alice", password).status_code == 302
    changed = AuditEvent.objects.get(action="user.password_changed")
    assert changed.actor_label == "boss" and changed.details == {"generated": True}
    assert AuditEvent.objects.get(action="session.revoked").details["reason"] == "password_changed"


def test_own_password_change_keeps_this_session_only(tenant, alice, sign_in):
    mine, other = signed_in(tenant, sign_in), signed_in(tenant, sign_in)
    answer = mine.post(
        "/t/acme/account",
        {"current_password": PASSWORD, "new_password": "a-brand-new-secret", "confirm_password": "a-brand-new-secret"},
    )
    assert answer.status_code == 302
    assert is_signed_in(mine, tenant) and not is_signed_in(other, tenant)
    assert user_sessions(alice).count() == 1


def test_weak_password_is_refused_and_changes_nothing(tenant, alice, sign_in):
    from django.core.exceptions import ValidationError

    browser = signed_in(tenant, sign_in)
    with pytest.raises(ValidationError):
        set_password(alice, "12345", actor=ADMIN)
    assert is_signed_in(browser, tenant)
    assert not AuditEvent.objects.filter(action__in=["user.password_changed", "session.revoked"]).exists()


def test_deleting_a_user_removes_everything_of_theirs(tenant, alice, make_user, sign_in):
    bob = make_user(tenant, "bob")
    browser = signed_in(tenant, sign_in)
    app, secret = web_client(tenant)
    issue_tokens(tenant, app, secret, "alice")
    issue_tokens(tenant, app, secret, "bob")
    add_member(create_group(tenant, "Ops"), alice)
    FederatedIdentity.objects.create(tenant=tenant, user=alice, connection="saml:1", subject="alice@idp")
    delete_user(alice, actor=ADMIN)
    assert not is_signed_in(browser, tenant)
    for model in (SignInSession, Consent, AccessToken, RefreshToken, FederatedIdentity, Membership):
        assert not model.objects.filter(user_id=alice.pk).exists(), model
    assert RefreshToken.objects.filter(user=bob).exists()  # the same client keeps bob's tokens
    assert [e.action for e in AuditEvent.objects.filter(actor_label="boss").order_by("id")] == [
        "session.revoked",
        "user.deleted",
    ]
