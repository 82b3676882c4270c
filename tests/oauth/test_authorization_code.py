"""The authorization code flow with PKCE, end to end: Authlib as the client, the real sign-in and
consent pages over HTTP, every JWT verified by joserfc against the published JWKS."""

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from lumoauth.events.models import AuditEvent
from oauth.models import AccessToken, Consent, RefreshToken

from .conftest import REDIRECT_URI, redirect_params, verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)


def authlib_session(client, scope, **kwargs):
    return OAuth2Session(
        client.client_id, client.secret, scope=scope, redirect_uri=REDIRECT_URI, code_challenge_method="S256", **kwargs
    )


def run_flow(browser, endpoints, client, scope="openid profile email offline_access", **auth_params):
    session = authlib_session(client, scope)
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        endpoints["authorize"], code_verifier=verifier, nonce=nonce, **auth_params
    )
    response = browser.go(url)
    params = redirect_params(response)
    assert params["state"] == state
    return session, verifier, nonce, response, params


def test_confidential_client_full_flow(browser, endpoints, issuer, web_client, alice):
    session, verifier, nonce, response, params = run_flow(browser, endpoints, web_client)
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    assert params["iss"] == issuer  # RFC 9207
    token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert set(token["scope"].split()) == {"openid", "profile", "email", "offline_access"}
    assert token["refresh_token"]

    id_token = verify_jwt(
        token["id_token"],
        endpoints["jwks"],
        iss=issuer,
        aud=web_client.client_id,
        nonce=nonce,
        sub=str(alice.sub),
        email="alice@acme.example",
        name="Alice Liddell",
    )
    assert id_token.header["kid"] and id_token.header["alg"] == "RS256"
    assert {"exp", "iat", "auth_time", "at_hash"} <= set(id_token.claims)
    assert id_token.claims["amr"] == ["pwd"]
    assert "phone_number" not in id_token.claims  # phone scope not granted

    access = verify_jwt(
        token["access_token"], endpoints["jwks"], iss=issuer, sub=str(alice.sub), client_id=web_client.client_id
    )
    assert access.header["typ"] == "at+jwt"  # RFC 9068 §2.1
    assert {"exp", "iat", "jti", "aud", "scope"} <= set(access.claims)

    for method in ("GET", "POST"):
        info = session.request(method, endpoints["userinfo"])
        assert info.status_code == 200 and info.headers["Content-Type"].startswith("application/json")
        claims = info.json()
        assert claims["sub"] == str(alice.sub) and claims["email_verified"] is True
        assert claims["given_name"] == "Alice" and "phone_number" not in claims


def test_public_client_with_pkce(browser, endpoints, spa_client, alice):
    session, verifier, nonce, response, params = run_flow(browser, endpoints, spa_client, scope="openid profile")
    token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert "refresh_token" not in token  # not allowed the refresh_token grant
    assert len(token["access_token"]) < 100 and token["access_token"].count(".") == 0  # opaque
    verify_jwt(token["id_token"], endpoints["jwks"], aud=spa_client.client_id, nonce=nonce)
    assert (
        requests.get(
            endpoints["userinfo"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
        ).json()["preferred_username"]
        == "alice"
    )


def test_wrong_code_verifier_fails(browser, endpoints, spa_client, alice):
    session, verifier, _nonce, response, params = run_flow(browser, endpoints, spa_client, scope="openid")
    answer = requests.post(
        endpoints["token"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": spa_client.client_id,
            "code_verifier": "x" * 50,
        },
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_refresh_rotation_and_reuse_detection(browser, endpoints, web_client, alice):
    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client)
    first = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    second = session.refresh_token(endpoints["token"], refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    verify_jwt(second["id_token"], endpoints["jwks"], sub=str(alice.sub))
    third = session.refresh_token(endpoints["token"], refresh_token=second["refresh_token"])
    # Presenting an already-used refresh token revokes the whole family (RFC 9700 §4.14.2).
    replay = requests.post(
        endpoints["token"],
        auth=(web_client.client_id, web_client.secret),
        timeout=10,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    latest = requests.post(
        endpoints["token"],
        auth=(web_client.client_id, web_client.secret),
        timeout=10,
        data={"grant_type": "refresh_token", "refresh_token": third["refresh_token"]},
    )
    assert latest.status_code == 400 and latest.json()["error"] == "invalid_grant"
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_no_refresh_token_without_offline_access(browser, endpoints, web_client, alice):
    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client, scope="openid email")
    token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert "refresh_token" not in token


def test_code_is_single_use_and_replay_revokes_tokens(browser, endpoints, web_client, alice):
    session, verifier, _n, response, params = run_flow(browser, endpoints, web_client)
    data = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    auth = (web_client.client_id, web_client.secret)
    first = requests.post(endpoints["token"], data=data, auth=auth, timeout=10)
    assert first.status_code == 200
    access_token = first.json()["access_token"]
    second = requests.post(endpoints["token"], data=data, auth=auth, timeout=10)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert (
        requests.get(endpoints["userinfo"], headers={"Authorization": f"Bearer {access_token}"}, timeout=10).status_code
        == 401
    )
    assert AccessToken.objects.count() == 0
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert AuditEvent.objects.filter(action="oauth.code.replayed").exists()


def test_redirect_uri_must_match_exactly(browser, endpoints, web_client, alice):
    session, verifier, _n, response, params = run_flow(browser, endpoints, web_client)
    answer = requests.post(
        endpoints["token"],
        auth=(web_client.client_id, web_client.secret),
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI + "/",
            "code_verifier": verifier,
        },
    )
    assert answer.status_code in (400, 401) and answer.json()["error"] in ("invalid_request", "invalid_grant")


def test_consent_is_remembered_and_asked_again_for_more(browser, endpoints, web_client, alice):
    run_flow(browser, endpoints, web_client, scope="openid email")
    assert Consent.objects.get(user=alice).scopes == ["email", "openid"]
    session = authlib_session(web_client, "openid email")
    url, _ = session.create_authorization_url(endpoints["authorize"], code_verifier=generate_token(48))
    # Same scopes again: straight back to the client, no consent page.
    assert "code" in redirect_params(browser.go(url, consent=None))
    session = authlib_session(web_client, "openid email phone")
    url, _ = session.create_authorization_url(endpoints["authorize"], code_verifier=generate_token(48))
    page = browser.go(url, consent=None)
    assert page.status_code == 200 and "phone number" in page.text
    assert AuditEvent.objects.filter(action="consent.granted").count() == 1


def test_first_party_client_skips_consent(tenant, make_client, browser, endpoints, alice):
    first_party = make_client(
        tenant,
        "Our own app",
        skip_consent=True,
        grant_types=["authorization_code"],
        token_endpoint_auth_method="client_secret_post",
    )
    session = authlib_session(first_party, "openid", token_endpoint_auth_method="client_secret_post")
    verifier = generate_token(48)
    url, _ = session.create_authorization_url(endpoints["authorize"], code_verifier=verifier)
    response = browser.go(url, consent=None)
    token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert token["access_token"]
    assert not Consent.objects.exists()


def test_denying_consent_returns_access_denied(browser, endpoints, issuer, web_client, alice):
    session = authlib_session(web_client, "openid")
    url, state = session.create_authorization_url(endpoints["authorize"], code_verifier=generate_token(48))
    params = redirect_params(browser.go(url, consent="deny"))
    assert params == {"error": "access_denied", "state": state, "iss": issuer}
    assert AuditEvent.objects.filter(action="oauth.authorization.denied").exists()
