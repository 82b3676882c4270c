"""The user's page in the portal: password reset, deletion, sessions, linked identities, consents
and tokens - access rules, CSRF, audit and tenant isolation, through the Django test client; and
the main path in headless Chromium."""

import re

import pytest
from django.test import Client

from lumoauth.events.models import AuditEvent
from oauth.models import AccessToken, Consent, RefreshToken
from tenants.models import FederatedIdentity, SignInSession, User
from tests.conftest import PASSWORD
from tests.oauth.tokens import introspect, issue_tokens, web_client

from .conftest import screenshot

pytestmark = pytest.mark.django_db


def browser_of(tenant, sign_in, username="alice", password=PASSWORD):
    browser = Client()
    assert sign_in(browser, tenant, username, password).status_code == 302
    return browser


def page_of(user) -> str:
    return f"/t/{user.tenant.slug}/portal/users/{user.sub}/"


def admin_actions(tenant, admin) -> list[str]:
    events = AuditEvent.objects.filter(tenant=tenant, actor_id=str(admin.pk)).order_by("id")
    return list(events.values_list("action", flat=True))


@pytest.fixture
def foreign(other_tenant, make_user, sign_in):
    """A globex user with a session, a linked identity, a consent and tokens."""
    carl = make_user(other_tenant, "carl")
    browser_of(other_tenant, sign_in, "carl")
    app, secret = web_client(other_tenant, "Globex app")
    issue_tokens(other_tenant, app, secret, "carl")
    FederatedIdentity.objects.create(tenant=other_tenant, user=carl, connection="saml:1", subject="carl@idp")
    return carl, app


def test_user_page_lists_sessions_identities_consents_and_tokens(admin_client, tenant, admin, alice):
    empty = admin_client.get(page_of(alice))
    assert empty.status_code == 200
    for text in (
        b"No active sign-in sessions.",
        b"No identities at external identity providers are linked.",
        b"No OAuth consents.",
        b"No client holds live tokens for this user.",
    ):
        assert text in empty.content
    Client(HTTP_USER_AGENT="Firefox/140").post("/t/acme/login", {"identifier": "alice", "password": PASSWORD})
    app, secret = web_client(tenant, "Billing web")
    issue_tokens(tenant, app, secret, "alice")
    FederatedIdentity.objects.create(tenant=tenant, user=alice, connection="saml:404", subject="alice@corp")
    page = admin_client.get(page_of(alice))
    assert page.status_code == 200
    assert len(page.context["sessions"]) == 2 and b"Firefox/140" in page.content
    assert b"alice@corp" in page.content and b"saml:404" in page.content  # the connection is gone: its key
    assert b"Billing web" in page.content and b"<code>offline_access</code>" in page.content
    (authorization,) = page.context["authorizations"]
    assert authorization.client == app and authorization.refresh_tokens == 1
    assert b"this browser" not in page.content
    # The admin's own page marks the session of this browser, and offers no reset or delete.
    own = admin_client.get(page_of(admin))
    assert b"this browser" in own.content and b"Delete user" not in own.content


def test_admin_resets_a_password_with_errors_in_place(admin_client, tenant, admin, alice, sign_in):
    alices = browser_of(tenant, sign_in)
    url = f"{page_of(alice)}password"
    form = admin_client.get(url)
    assert form.status_code == 200 and b'name="new_password"' in form.content
    weak = admin_client.post(url, {"new_password": "12345", "confirm_password": "12345"})
    assert weak.status_code == 400 and b'id="id_new_password-error">This password is too short' in weak.content
    differ = admin_client.post(url, {"new_password": "a-long-new-secret", "confirm_password": "another-one-here"})
    assert differ.status_code == 400 and b"The two passwords differ." in differ.content
    assert alices.get("/t/acme/account").status_code == 200  # nothing changed yet
    done = admin_client.post(url, {"new_password": "a-long-new-secret", "confirm_password": "a-long-new-secret"})
    assert done.status_code == 302 and done["Location"] == page_of(alice)
    alice.refresh_from_db()
    assert alice.check_password("a-long-new-secret")
    assert alices.get("/t/acme/account").status_code == 302  # signed out
    assert admin_actions(tenant, admin)[-2:] == ["user.password_changed", "session.revoked"]
    assert AuditEvent.objects.get(action="user.password_changed").details == {"generated": False}


def test_generated_password_is_shown_once_and_never_cached(admin_client, tenant, admin, alice, sign_in):
    alices = browser_of(tenant, sign_in)
    shown = admin_client.post(f"{page_of(alice)}password", {"generate": "1"})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    password = re.search(rb'id="generated-password">([^<]+)<', shown.content).group(1).decode()
    assert len(password) == 23 and b"shown only once" in shown.content
    assert alices.get("/t/acme/account").status_code == 302
    assert browser_of(tenant, sign_in, "alice", password).get("/t/acme/account").status_code == 200
    event = AuditEvent.objects.get(action="user.password_changed")
    assert event.actor_id == str(admin.pk) and event.details == {"generated": True}
    assert password not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def test_admin_revokes_one_session_and_that_browser_must_sign_in_again(admin_client, tenant, admin, make_user, sign_in):
    make_user(tenant, "root", is_tenant_admin=True)
    roots_laptop, roots_phone = browser_of(tenant, sign_in, "root"), browser_of(tenant, sign_in, "root")
    root = User.objects.get(username="root")
    laptop_session = SignInSession.objects.filter(user=root).order_by("created_at").first()
    answer = admin_client.post(f"{page_of(root)}sessions/{laptop_session.pk}/end")
    assert answer.status_code == 302 and answer["Location"] == page_of(root)
    portal = roots_laptop.get("/t/acme/portal/")
    assert portal.status_code == 302 and portal["Location"].startswith("/t/acme/login?next=")
    assert roots_phone.get("/t/acme/portal/").status_code == 200
    event = AuditEvent.objects.get(action="session.revoked")
    assert event.actor_id == str(admin.pk) and event.target_id == str(root.pk)
    assert event.details == {"sessions": 1, "session": laptop_session.pk, "reason": "revoked"}


def test_sign_out_everywhere_leaves_other_users_and_tenants_alone(
    admin_client, tenant, other_tenant, admin, alice, make_user, sign_in
):
    laptop, phone = browser_of(tenant, sign_in), browser_of(tenant, sign_in)
    make_user(tenant, "bob")
    bobs = browser_of(tenant, sign_in, "bob")
    make_user(other_tenant, "alice")
    globex = browser_of(other_tenant, sign_in, "alice")
    answer = admin_client.post(f"{page_of(alice)}sessions/end")
    assert answer.status_code == 302
    assert laptop.get("/t/acme/account").status_code == 302 and phone.get("/t/acme/account").status_code == 302
    assert bobs.get("/t/acme/account").status_code == 200
    assert globex.get("/t/globex/account").status_code == 200
    assert SignInSession.objects.filter(tenant=other_tenant, ended_at__isnull=True).count() == 1
    event = AuditEvent.objects.get(action="session.revoked")
    assert event.actor_id == str(admin.pk) and event.details == {"sessions": 2, "reason": "revoked"}
    dashboard = admin_client.get("/t/acme/portal/")
    assert dashboard.context["active_sessions"] == 2  # boss and bob


def test_unlink_identity_revoke_consent_and_tokens(admin_client, tenant, admin, alice):
    identity = FederatedIdentity.objects.create(tenant=tenant, user=alice, connection="saml:7", subject="alice@corp")
    app, secret = web_client(tenant, "Billing web")
    other, other_secret = web_client(tenant, "Reports")
    first = issue_tokens(tenant, app, secret, "alice")
    second = issue_tokens(tenant, other, other_secret, "alice")
    consent = Consent.objects.get(user=alice, client=app)

    assert admin_client.post(f"{page_of(alice)}identities/{identity.pk}/unlink").status_code == 302
    assert not FederatedIdentity.objects.filter(pk=identity.pk).exists()
    assert admin_client.post(f"{page_of(alice)}consents/{consent.pk}/revoke").status_code == 302
    assert not Consent.objects.filter(pk=consent.pk).exists()
    assert introspect(tenant, app, secret, first["refresh_token"]) == {"active": False}
    assert introspect(tenant, other, other_secret, second["access_token"])["active"] is True
    assert admin_client.post(f"{page_of(alice)}tokens/{other.client_id}/revoke").status_code == 302
    assert introspect(tenant, other, other_secret, second["access_token"]) == {"active": False}
    assert Consent.objects.filter(user=alice, client=other).exists()  # tokens only; the consent stays
    assert admin_actions(tenant, admin) == [
        "login.succeeded",
        "identity.unlinked",
        "consent.revoked",
        "oauth.token.revoked",
        "oauth.token.revoked",
    ]
    assert AuditEvent.objects.get(action="identity.unlinked").details == {
        "connection": "saml:7",
        "subject": "alice@corp",
    }


def test_delete_user_with_everything_of_theirs(admin_client, tenant, admin, alice, sign_in):
    alices = browser_of(tenant, sign_in)
    app, secret = web_client(tenant)
    issue_tokens(tenant, app, secret, "alice")
    answer = admin_client.post(f"{page_of(alice)}delete")
    assert answer.status_code == 302 and answer["Location"] == "/t/acme/portal/users/"
    assert not User.objects.filter(pk=alice.pk).exists()
    assert alices.get("/t/acme/account").status_code == 302
    for model in (SignInSession, Consent, AccessToken, RefreshToken):
        assert not model.objects.filter(user_id=alice.pk).exists()
    assert admin_actions(tenant, admin)[-2:] == ["session.revoked", "user.deleted"]
    assert b"User alice deleted." in admin_client.get("/t/acme/portal/users/").content
    assert admin_client.get(page_of(alice)).status_code == 404


def test_admin_cannot_delete_or_reset_themselves(admin_client, tenant, admin):
    assert admin_client.post(f"{page_of(admin)}delete").status_code == 302
    assert User.objects.filter(pk=admin.pk).exists()
    assert b"You cannot delete yourself." in admin_client.get(page_of(admin)).content
    answer = admin_client.post(f"{page_of(admin)}password", {"generate": "1"})
    assert answer.status_code == 302
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)
    assert admin_actions(tenant, admin) == ["login.succeeded"]


def test_csrf_is_enforced(tenant, admin, alice):
    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/t/acme/login")
    token = str(page.context["csrf_token"])
    strict.post("/t/acme/login", {"identifier": "boss", "password": PASSWORD, "csrfmiddlewaretoken": token})
    url = f"{page_of(alice)}password"
    assert (
        strict.post(url, {"new_password": "a-long-new-secret", "confirm_password": "a-long-new-secret"}).status_code
        == 403
    )
    assert strict.post(f"{page_of(alice)}delete").status_code == 403
    assert strict.post(f"{page_of(alice)}sessions/end").status_code == 403
    assert User.objects.filter(pk=alice.pk).exists() and alice.check_password(PASSWORD)
    form = strict.get(url)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.content).group(1).decode()
    done = strict.post(url, {"generate": "1", "csrfmiddlewaretoken": token})
    assert done.status_code == 200


def test_objects_of_another_tenant_are_not_found(admin_client, tenant, alice, foreign):
    carl, app = foreign
    session = SignInSession.objects.filter(user=carl, ended_at__isnull=True).first()
    identity = FederatedIdentity.objects.get(user=carl)
    consent = Consent.objects.get(user=carl)
    # The globex user through acme URLs.
    for suffix in ("", "password", "delete", "sessions/end", f"sessions/{session.pk}/end"):
        method = admin_client.get if suffix in ("", "password") else admin_client.post
        assert method(f"/t/acme/portal/users/{carl.sub}/{suffix}").status_code == 404, suffix
    # Globex objects under an acme user's URLs.
    for suffix in (
        f"sessions/{session.pk}/end",
        f"identities/{identity.pk}/unlink",
        f"consents/{consent.pk}/revoke",
        f"tokens/{app.client_id}/revoke",
    ):
        assert admin_client.post(f"{page_of(alice)}{suffix}").status_code == 404, suffix
    assert SignInSession.objects.get(pk=session.pk).ended_at is None
    assert FederatedIdentity.objects.filter(pk=identity.pk).exists() and Consent.objects.filter(pk=consent.pk).exists()
    assert RefreshToken.objects.filter(user=carl, revoked__isnull=True).exists()
    assert User.objects.filter(pk=carl.pk).exists()


def test_another_users_objects_are_not_found_under_this_user(admin_client, tenant, alice, make_user, sign_in):
    bob = make_user(tenant, "bob")
    browser_of(tenant, sign_in, "bob")
    bobs_session = SignInSession.objects.get(user=bob)
    bobs_identity = FederatedIdentity.objects.create(tenant=tenant, user=bob, connection="saml:1", subject="bob")
    assert admin_client.post(f"{page_of(alice)}sessions/{bobs_session.pk}/end").status_code == 404
    assert admin_client.post(f"{page_of(alice)}identities/{bobs_identity.pk}/unlink").status_code == 404
    assert SignInSession.objects.get(pk=bobs_session.pk).ended_at is None


def test_non_admins_learn_nothing(tenant, alice, make_user, sign_in):
    bob = make_user(tenant, "bob")
    member = browser_of(tenant, sign_in, "alice")
    bob_session = SignInSession.objects.create(tenant=tenant, user=bob, key="k" * 43)
    for path in (page_of(bob), f"{page_of(bob)}password"):
        assert member.get(path).status_code == 404
    for suffix in ("password", "delete", "sessions/end", f"sessions/{bob_session.pk}/end", "identities/1/unlink"):
        assert member.post(f"{page_of(bob)}{suffix}").status_code == 404
    assert User.objects.filter(pk=bob.pk).exists()
    anonymous = Client().post(f"{page_of(bob)}delete")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/t/acme/login?next=")


def test_bad_input_never_fails(admin_client, alice):
    url = page_of(alice)
    assert admin_client.get(f"{url}delete").status_code == 405
    assert admin_client.get(f"{url}sessions/end").status_code == 405
    assert admin_client.post(f"{url}sessions/not-a-number/end").status_code == 404
    assert admin_client.post(f"{url}sessions/99999999999999999999/end").status_code == 404
    assert admin_client.post(f"{url}tokens/nope/revoke").status_code == 404
    assert admin_client.post("/t/acme/portal/users/not-a-uuid/delete").status_code == 404
    huge = "x" * 5000
    answer = admin_client.post(f"{url}password", {"new_password": huge, "confirm_password": huge})
    assert answer.status_code == 400
    assert admin_client.post(f"{url}password", {"generate": "yes please"}).status_code == 400
    assert admin_client.post(f"{url}password", {"new_password": "a\x00b"}).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_browser_reset_password_revoke_session_delete_user(admin_page, chromium, live_server, tenant, make_user):
    make_user(tenant, "alice", given_name="Alice")
    page = admin_page
    page.goto(f"{page.base}users/")
    page.click("a:has-text('alice')")
    assert page.inner_text("h1") == "alice"
    assert "No active sign-in sessions." in page.content()

    # Reset: a generated password, shown once, with a copy button.
    page.click("text=Reset password")
    page.wait_for_selector("input[name=new_password]")
    page.fill("input[name=new_password]", "short")
    page.fill("input[name=confirm_password]", "short")
    page.click("button:has-text('Set password')")
    assert "This password is too short" in page.inner_text("#id_new_password-error")
    page.click("button:has-text('Generate a password')")
    page.wait_for_selector("#generated-password")
    assert "shown only once" in page.content()
    password = page.inner_text("#generated-password")
    page.click("button:has-text('Copy')")
    page.wait_for_selector("button:has-text('Copied')")

    # Alice signs in with it in her own browser.
    alices = chromium.new_context()
    hers = alices.new_page()
    hers.goto(f"{live_server.url}/t/acme/account")
    hers.fill("input[name=identifier]", "alice")
    hers.fill("input[name=password]", password)
    hers.click("button[type=submit]")
    hers.wait_for_url("**/account")

    # The admin sees her session and signs it out.
    page.click("text=Back to alice")
    page.wait_for_selector("section[aria-labelledby=sessions-heading] tbody tr")
    row = page.locator("section[aria-labelledby=sessions-heading] tbody tr")
    assert row.count() == 1 and "pwd" in row.inner_text()
    screenshot(page, "user-detail")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button:has-text('Sign out')").click()
    page.wait_for_selector("text=alice is signed out of that session.")
    assert "No active sign-in sessions." in page.content()
    hers.goto(f"{live_server.url}/t/acme/account")
    assert "/login" in hers.url
    alices.close()

    # Deleting asks first; dismissing keeps the user.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button:has-text('Delete user')")
    assert User.objects.filter(username="alice").exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Delete user')")
    page.wait_for_selector("text=User alice deleted.")
    assert not User.objects.filter(username="alice").exists()
    actions = set(AuditEvent.objects.filter(actor_label="boss").values_list("action", flat=True))
    assert {"user.password_changed", "session.revoked", "user.deleted"} <= actions
