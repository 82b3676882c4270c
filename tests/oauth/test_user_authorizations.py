"""A user's tokens per client, revoking them, and revoking a consent with its tokens (RFC 7009 §2.1)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from lumoauth.events.api import Ref
from lumoauth.events.models import AuditEvent
from oauth.models import AccessToken, Consent, Grant, RefreshToken
from oauth.services.authorizations import revoke_user_tokens, user_authorizations
from oauth.services.consents import revoke_consent
from tests.oauth.tokens import introspect, issue_tokens, refresh, web_client

pytestmark = pytest.mark.django_db

ADMIN = Ref("user", "999", "boss")


def test_user_authorizations_count_live_tokens_per_client(tenant, alice, make_user):
    app, secret = web_client(tenant, "App")
    other, other_secret = web_client(tenant, "Other")
    first = issue_tokens(tenant, app, secret, "alice")
    assert refresh(tenant, app, secret, first["refresh_token"]).status_code == 200  # rotates: one live refresh token
    issue_tokens(tenant, other, other_secret, "alice")
    make_user(tenant, "bob")
    issue_tokens(tenant, app, secret, "bob")
    found = {a.client.name: a for a in user_authorizations(alice)}
    assert set(found) == {"App", "Other"}
    assert found["App"].refresh_tokens == 1 and found["App"].access_tokens == 1
    assert found["Other"].refresh_tokens == 1


def test_refresh_tokens_past_their_lifetime_are_not_counted(tenant, alice):
    app, secret = web_client(tenant, "App")
    tokens = issue_tokens(tenant, app, secret, "alice")
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    (found,) = user_authorizations(alice)
    assert (found.refresh_tokens, found.access_tokens) == (1, 0)
    RefreshToken.objects.update(created=timezone.now() - timedelta(seconds=app.refresh_token_lifetime + 1))
    assert refresh(tenant, app, secret, tokens["refresh_token"]).status_code == 400  # the token endpoint agrees
    assert user_authorizations(alice) == []


def test_revoking_a_consent_revokes_the_clients_tokens_for_that_user(tenant, alice, make_user):
    app, secret = web_client(tenant, "App")
    other, other_secret = web_client(tenant, "Other")
    tokens = issue_tokens(tenant, app, secret, "alice")
    kept = issue_tokens(tenant, other, other_secret, "alice")
    make_user(tenant, "bob")
    bobs = issue_tokens(tenant, app, secret, "bob")
    Grant.objects.create(  # an authorization code not yet redeemed
        tenant=tenant,
        user=alice,
        application=app,
        code="pending",
        expires="2999-01-01T00:00:00Z",
        redirect_uri="https://app.example.com/callback",
        scope="openid",
    )
    consent = Consent.objects.get(user=alice, client=app)

    revoke_consent(consent, actor=ADMIN)

    assert not Consent.objects.filter(user=alice, client=app).exists()
    assert introspect(tenant, app, secret, tokens["access_token"]) == {"active": False}
    assert introspect(tenant, app, secret, tokens["refresh_token"]) == {"active": False}
    assert refresh(tenant, app, secret, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert not Grant.objects.filter(code="pending").exists()
    # Another client's tokens for alice, and this client's tokens for bob, are untouched.
    assert introspect(tenant, other, other_secret, kept["access_token"])["active"] is True
    assert introspect(tenant, app, secret, bobs["refresh_token"])["active"] is True
    consent_event = AuditEvent.objects.get(action="consent.revoked")
    tokens_event = AuditEvent.objects.get(action="oauth.token.revoked")
    assert consent_event.actor_label == tokens_event.actor_label == "boss"
    assert tokens_event.target_id == str(alice.pk)
    assert tokens_event.details == {
        "client_id": app.client_id,
        "refresh_tokens": 1,
        "access_tokens": 1,
        "codes": 1,
        "reason": "consent_revoked",
    }


def test_revoke_user_tokens_revokes_the_whole_rotation_family(tenant, alice):
    app, secret = web_client(tenant)
    first = issue_tokens(tenant, app, secret, "alice")
    second = refresh(tenant, app, secret, first["refresh_token"]).json()
    assert revoke_user_tokens(alice, app, actor=ADMIN) == 2  # the live refresh token and its access token
    assert not RefreshToken.objects.filter(user=alice, revoked__isnull=True).exists()
    assert not AccessToken.objects.filter(user=alice).exists()
    assert refresh(tenant, app, secret, second["refresh_token"]).status_code == 400
    assert revoke_user_tokens(alice, app, actor=ADMIN) == 0  # nothing left: no second audit event
    assert AuditEvent.objects.filter(action="oauth.token.revoked").count() == 1
    assert user_authorizations(alice) == []
