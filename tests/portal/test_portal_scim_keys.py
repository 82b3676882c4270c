"""SCIM tokens and signing keys in the portal, and key_health() for the dashboard."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from lumoauth.events.api import AuditEvent
from scim.models import SCIMToken
from scim.tokens import create_scim_token
from tenants.signing_keys.api import SigningKey, key_health, rotate_keys
from tenants.signing_keys.health import NEXT_KEY_WARM_UP, ROTATE_AFTER
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SCIM = "/t/acme/portal/scim/"
KEYS = "/t/acme/portal/signing-keys/"


@pytest.fixture
def member_client(tenant, make_user, sign_in):
    client = Client()
    make_user(tenant, "alice")
    sign_in(client, tenant, "alice")
    return client


def scim_get(client, token):
    return client.get("/t/acme/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {token}")


def active_kid(tenant):
    return SigningKey.objects.active().get(tenant=tenant).kid


# --- SCIM tokens ------------------------------------------------------------------------------------


def test_scim_page_lists_nothing_yet_and_shows_the_base_url(admin_client):
    page = admin_client.get(SCIM)
    assert page.status_code == 200
    assert b"No SCIM tokens yet" in page.content
    assert b"http://testserver/t/acme/scim/v2/" in page.content
    assert b'aria-current="page">SCIM</a>' in page.content


def test_created_token_authenticates_until_revoked(admin_client, tenant, admin):
    created = admin_client.post(SCIM, {"label": "Okta production"})
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    token = created.context["token"]
    assert token.encode() in created.content and b'data-copy="#scim-token"' in created.content
    saved = SCIMToken.objects.get(tenant=tenant, label="Okta production")
    assert token.encode() not in admin_client.get(SCIM).content  # shown once, never again

    assert b"never" in admin_client.get(SCIM).content
    assert scim_get(Client(), token).status_code == 200
    saved.refresh_from_db()
    assert saved.last_used_at is not None
    listing = admin_client.get(SCIM).content.decode()
    assert timezone.localtime(saved.last_used_at).strftime("%Y-%m-%d %H:%M") in listing  # last use shown

    revoked = admin_client.post(f"{SCIM}tokens/{saved.pk}/revoke")
    assert revoked.status_code == 302 and revoked["Location"] == SCIM
    assert scim_get(Client(), token).status_code == 401
    listing = admin_client.get(SCIM)
    assert b"revoked" in listing.content and b"SCIM token Okta production revoked" in listing.content
    # Revoking twice changes nothing and records nothing more.
    admin_client.post(f"{SCIM}tokens/{saved.pk}/revoke")
    events = AuditEvent.objects.filter(tenant=tenant, target_type="scim_token", target_id=str(saved.pk))
    assert sorted(events.values_list("action", "actor_id")) == [
        ("scim_token.created", str(admin.pk)),
        ("scim_token.revoked", str(admin.pk)),
    ]


def test_scim_token_form_errors_and_csrf(admin_client, tenant, admin):
    empty = admin_client.post(SCIM, {"label": "  "})
    assert empty.status_code == 400 and b"This field is required." in empty.content
    long = admin_client.post(SCIM, {"label": "x" * 201})
    assert long.status_code == 400 and b'value="' + b"x" * 201 in long.content  # kept what was typed
    assert not SCIMToken.objects.exists()

    strict = Client(enforce_csrf_checks=True)
    login = strict.get("/t/acme/login")
    strict.post(
        "/t/acme/login",
        {"identifier": "boss", "password": PASSWORD, "csrfmiddlewaretoken": str(login.context["csrf_token"])},
    )
    assert strict.post(SCIM, {"label": "sneaky"}).status_code == 403
    assert strict.post(KEYS + "rotate", {"alg": "RS256"}).status_code == 403
    assert not SCIMToken.objects.exists()
    page = strict.get(SCIM)
    ok = strict.post(SCIM, {"label": "Entra", "csrfmiddlewaretoken": str(page.context["csrf_token"])})
    assert ok.status_code == 200 and SCIMToken.objects.filter(tenant=tenant, label="Entra").exists()


def test_scim_tokens_of_another_tenant_are_not_found(admin_client, other_tenant, member_client, tenant):
    foreign, foreign_token = create_scim_token(other_tenant, label="Globex Okta")
    own, _ = create_scim_token(tenant, label="Acme Okta")
    assert b"Globex Okta" not in admin_client.get(SCIM).content
    assert admin_client.post(f"{SCIM}tokens/{foreign.pk}/revoke").status_code == 404
    assert admin_client.post(f"{SCIM}tokens/999999/revoke").status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None
    assert scim_get(Client(), foreign_token).status_code == 401  # globex's token means nothing at acme
    # A member of acme learns nothing.
    assert member_client.get(SCIM).status_code == 404
    assert member_client.post(SCIM, {"label": "mine"}).status_code == 404
    assert member_client.post(f"{SCIM}tokens/{own.pk}/revoke").status_code == 404
    own.refresh_from_db()
    assert own.revoked_at is None
    assert admin_client.get(f"{SCIM}tokens/{own.pk}/revoke").status_code == 405


# --- Signing keys -----------------------------------------------------------------------------------


def test_keys_page_lists_states_and_links_the_jwks(admin_client, tenant):
    page = admin_client.get(KEYS)
    assert page.status_code == 200
    states = [state for _, state in page.context["keys"]]
    assert states == ["active", "next"]
    assert active_kid(tenant).encode() in page.content
    assert b"http://testserver/t/acme/api/v1/.well-known/jwks.json" in page.content
    assert page.context["form"]["alg"].value() == "RS256"  # the current algorithm by default
    assert b'class="wide-form confirm"' in page.content and b"data-confirm=" in page.content


def test_rotate_changes_the_active_kid_published_in_the_jwks(
    admin_client, tenant, admin, django_capture_on_commit_callbacks
):
    jwks = admin_client.get("/t/acme/api/v1/.well-known/jwks.json").json()["keys"]
    old = active_kid(tenant)
    assert jwks[0]["kid"] == old  # the signing key comes first
    upcoming = jwks[1]["kid"]

    with django_capture_on_commit_callbacks(execute=True):  # the served JWKS is dropped once committed
        rotated = admin_client.post(KEYS + "rotate", {"alg": "ES256"})
    assert rotated.status_code == 302 and rotated["Location"] == KEYS
    assert active_kid(tenant) == upcoming

    jwks = admin_client.get("/t/acme/api/v1/.well-known/jwks.json").json()["keys"]
    # Active first, then the new next key (ES256, as asked), then the old key, still published while retiring.
    assert [key["kid"] for key in jwks][::2] == [upcoming, old] and len(jwks) == 3
    assert jwks[1]["kid"] not in (upcoming, old) and jwks[1]["alg"] == "ES256" and jwks[1]["kty"] == "EC"

    page = admin_client.get(KEYS)
    assert [state for _, state in page.context["keys"]] == ["active", "next", "retiring"]
    assert b"Keys rotated" in page.content
    assert page.context["form"]["alg"].value() == "ES256"  # keeps the latest choice
    event = AuditEvent.objects.filter(tenant=tenant, action="signing_key.rotated").latest("id")
    assert event.actor_id == str(admin.pk) and event.details["active"] == upcoming and event.details["retiring"] == old
    assert AuditEvent.objects.filter(
        tenant=tenant, action="signing_key.created", actor_id=str(admin.pk), details__alg="ES256"
    ).exists()


def test_rotate_rejects_unknown_algorithms_and_other_tenants_are_untouched(
    admin_client, tenant, other_tenant, member_client
):
    before, foreign = active_kid(tenant), active_kid(other_tenant)
    for alg in ("HS256", "none", "", "RS256" * 50):
        assert admin_client.post(KEYS + "rotate", {"alg": alg}).status_code == 400
    assert b"Select a valid choice" in admin_client.post(KEYS + "rotate", {"alg": "HS256"}).content
    assert active_kid(tenant) == before
    assert member_client.get(KEYS).status_code == 404
    assert member_client.post(KEYS + "rotate", {"alg": "RS256"}).status_code == 404
    assert active_kid(tenant) == before
    admin_client.post(KEYS + "rotate", {"alg": "RS256"})
    assert active_kid(tenant) != before and active_kid(other_tenant) == foreign  # only acme's keys turn
    page = admin_client.get(KEYS).content.decode()
    assert not any(key.kid in page for key in SigningKey.objects.filter(tenant=other_tenant))
    assert admin_client.get(KEYS + "rotate").status_code == 405


# --- key_health (for the dashboard) -----------------------------------------------------------------


def test_key_health_of_a_fresh_tenant(tenant):
    health = key_health(tenant)
    assert health["active_kid"] == active_kid(tenant) and health["active_alg"] == "RS256"
    assert health["active_age_days"] == 0 and health["status"] == "ok"
    # The next key was made with the tenant a moment ago: not yet in relying parties' caches.
    assert health["next_ready"] is False and "wait before rotating" in health["message"]
    later = key_health(tenant, now=timezone.now() + NEXT_KEY_WARM_UP + timedelta(minutes=1))
    assert later["next_ready"] is True and later["status"] == "ok" and "wait" not in later["message"]


def test_key_health_warns_about_an_old_key_and_a_missing_next_key(tenant):
    old = key_health(tenant, now=timezone.now() + ROTATE_AFTER + timedelta(days=1))
    assert old["status"] == "warning" and old["active_age_days"] == ROTATE_AFTER.days + 1
    assert "rotate" in old["message"]
    rotated = rotate_keys(tenant)
    fresh = key_health(tenant)
    assert fresh["active_kid"] == rotated.kid and fresh["status"] == "ok"
    # A next key that somebody unpublished by hand (say, it leaked): no next key any more.
    SigningKey.objects.filter(tenant=tenant, kid=fresh["next_kid"]).update(unpublish_after=timezone.now())
    missing = key_health(tenant)
    assert missing["status"] == "warning" and missing["next_kid"] is None and missing["next_ready"] is False
    assert "No next key" in missing["message"]


def test_key_health_warns_when_the_private_key_cannot_be_decrypted(tenant, settings):
    from tenants.signing_keys.service import forget_cached_keys

    forget_cached_keys()
    settings.LUMOAUTH_KEY_ENCRYPTION_KEY = "A" * 43  # another valid KEK than the one the keys were made under
    try:
        health = key_health(tenant)
    finally:
        forget_cached_keys()
    assert health["status"] == "warning" and "cannot be decrypted" in health["message"]
