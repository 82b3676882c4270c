import pytest
from django.test import Client

from lumoauth.events.models import AuditEvent
from tenants.services.users import set_active
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_in_page_renders_with_csrf_token(client, tenant):
    response = client.get("/t/acme/login")
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content
    assert b"Acme Corp" in response.content


def test_sign_in_with_username_then_account_page(client, tenant, make_user, sign_in):
    user = make_user(tenant, "alice", name="Alice Liddell")
    response = sign_in(client, tenant, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/account"
    page = client.get("/t/acme/account")
    assert page.status_code == 200
    assert b"Alice Liddell" in page.content
    assert str(user.sub).encode() in page.content
    event = AuditEvent.objects.filter(action="login.succeeded").get()
    assert event.tenant == tenant and event.actor_id == str(user.pk) and event.outcome == "success"
    assert event.ip_address == "127.0.0.1"


def test_sign_in_with_email_case_insensitive(client, tenant, make_user, sign_in):
    make_user(tenant, "bob", email="Bob@Acme.example")
    assert sign_in(client, tenant, "BOB@acme.EXAMPLE").status_code == 302


def test_session_key_rotates_on_sign_in(client, tenant, make_user, sign_in):
    make_user(tenant, "alice")
    client.get("/t/acme/login")
    client.session.save()
    before = client.session.session_key
    sign_in(client, tenant, "alice")
    assert client.session.session_key != before


def _failure_body(response) -> bytes:
    # The page minus the per-request CSRF token.
    import re

    return re.sub(rb'value="[A-Za-z0-9]{32,}"', b"", response.content)


def test_no_user_enumeration(client, tenant, make_user, sign_in):
    make_user(tenant, "alice")
    inactive = make_user(tenant, "carol")
    set_active(inactive, False)
    wrong_password = sign_in(client, tenant, "alice", "not-the-password")
    unknown_user = sign_in(Client(), tenant, "nobody", "not-the-password")
    deactivated = sign_in(Client(), tenant, "carol", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == deactivated.status_code == 200
    assert b"Incorrect username, email or password." in wrong_password.content
    # Same page for all three apart from the identifier echoed back into the form.
    assert _failure_body(wrong_password).replace(b"alice", b"X") == _failure_body(unknown_user).replace(b"nobody", b"X")
    assert _failure_body(deactivated).replace(b"carol", b"X") == _failure_body(unknown_user).replace(b"nobody", b"X")
    failures = AuditEvent.objects.filter(action="login.failed", outcome="failure")
    assert failures.count() == 3
    assert client.get("/t/acme/account").status_code == 302


def test_form_keeps_identifier_and_shows_field_errors(client, tenant):
    response = client.post("/t/acme/login", {"identifier": "someone", "password": ""})
    assert response.status_code == 400
    assert b'value="someone"' in response.content
    assert b"This field is required." in response.content


def test_sign_out_requires_post_and_ends_session(client, tenant, make_user, sign_in):
    user = make_user(tenant, "alice")
    sign_in(client, tenant, "alice")
    confirm = client.get("/t/acme/logout")
    assert confirm.status_code == 200 and b"Sign out" in confirm.content
    assert client.get("/t/acme/account").status_code == 200  # GET did not sign out
    response = client.post("/t/acme/logout")
    assert response.status_code == 302 and response["Location"] == "/t/acme/login"
    assert client.get("/t/acme/account").status_code == 302
    assert AuditEvent.objects.filter(action="logout", actor_id=str(user.pk), tenant=tenant).exists()


def test_csrf_is_enforced_on_sign_in_and_sign_out(tenant, make_user):
    make_user(tenant, "alice")
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/t/acme/login", {"identifier": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert b"form expired" in response.content
    assert strict.post("/t/acme/logout").status_code == 403


def test_csrf_token_from_page_is_accepted(tenant, make_user):
    make_user(tenant, "alice")
    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/t/acme/login")
    token = page.context["csrf_token"]
    response = strict.post(
        "/t/acme/login", {"identifier": "alice", "password": PASSWORD, "csrfmiddlewaretoken": str(token)}
    )
    assert response.status_code == 302


def test_password_change_ends_other_sessions_but_keeps_this_one(tenant, make_user, sign_in):
    make_user(tenant, "alice")
    mine, other = Client(), Client()
    sign_in(mine, tenant, "alice")
    sign_in(other, tenant, "alice")
    response = mine.post(
        "/t/acme/account",
        {"current_password": PASSWORD, "new_password": "a-brand-new-secret", "confirm_password": "a-brand-new-secret"},
    )
    assert response.status_code == 302
    assert mine.get("/t/acme/account").status_code == 200
    assert other.get("/t/acme/account").status_code == 302
    assert AuditEvent.objects.filter(action="user.password_changed").count() == 1
    assert sign_in(Client(), tenant, "alice", "a-brand-new-secret").status_code == 302


def test_password_change_rejects_wrong_current_and_weak_new(client, tenant, make_user, sign_in):
    make_user(tenant, "alice")
    sign_in(client, tenant, "alice")
    wrong = client.post(
        "/t/acme/account",
        {"current_password": "nope", "new_password": "a-brand-new-secret", "confirm_password": "a-brand-new-secret"},
    )
    assert wrong.status_code == 400 and b"That is not your current password." in wrong.content
    weak = client.post(
        "/t/acme/account", {"current_password": PASSWORD, "new_password": "12345", "confirm_password": "12345"}
    )
    assert weak.status_code == 400 and b"too short" in weak.content


def test_deactivated_user_loses_session(client, tenant, make_user, sign_in):
    user = make_user(tenant, "alice")
    sign_in(client, tenant, "alice")
    set_active(user, False)
    assert client.get("/t/acme/account").status_code == 302


def test_account_requires_sign_in_and_keeps_next(client, tenant):
    response = client.get("/t/acme/account")
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/login?next=%2Ft%2Facme%2Faccount"


def test_orgs_alias_serves_the_same_tenant(client, tenant, make_user, sign_in):
    make_user(tenant, "alice")
    response = sign_in(client, tenant, "alice", prefix="orgs")
    assert response.status_code == 302 and response["Location"] == "/orgs/acme/account"
    assert client.get("/t/acme/account").status_code == 200


def test_passwords_are_hashed_with_argon2(tenant, make_user):
    user = make_user(tenant, "alice")
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password
