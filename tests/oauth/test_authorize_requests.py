"""The authorization endpoint's error handling and the OIDC prompt, max_age and login_hint parameters."""

import time
from urllib.parse import urlencode

import pytest
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from .conftest import REDIRECT_URI, redirect_params
from .test_authorization_code import run_flow

pytestmark = pytest.mark.django_db(transaction=True)


def authorize_url(endpoints, client, **overrides):
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "st4te",
        "code_challenge": create_s256_code_challenge(generate_token(48)),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return f"{endpoints['authorize']}?{urlencode({k: v for k, v in params.items() if v is not None})}"


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "unknown-client"},
        {"client_id": None},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": REDIRECT_URI + "/extra"},
        {"redirect_uri": REDIRECT_URI + "?x=1"},
        {"redirect_uri": "http://app.example.com/callback"},
    ],
)
def test_errors_before_the_redirect_uri_is_trusted_are_shown_not_redirected(endpoints, web_client, overrides):
    answer = requests.get(authorize_url(endpoints, web_client, **overrides), allow_redirects=False, timeout=10)
    assert answer.status_code == 400
    assert "cannot continue" in answer.text and "Location" not in answer.headers


@pytest.mark.parametrize(
    "client_fixture,overrides,error",
    [
        ("spa_client", {"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ("spa_client", {"code_challenge_method": "plain", "code_challenge": "a" * 50}, "invalid_request"),
        ("web_client", {"response_type": "token"}, "unsupported_response_type"),
        ("web_client", {"response_type": "code id_token"}, "unsupported_response_type"),
        ("web_client", {"scope": "openid nonsense"}, "invalid_scope"),
        ("web_client", {"prompt": "none login"}, "invalid_request"),
        ("web_client", {"max_age": "soon"}, "invalid_request"),
    ],
)
def test_errors_after_validation_go_back_to_the_client(
    request, endpoints, issuer, client_fixture, overrides, error, browser, alice
):
    client = request.getfixturevalue(client_fixture)
    params = redirect_params(browser.go(authorize_url(endpoints, client, **overrides)))
    assert params["error"] == error
    assert params["state"] == "st4te" and params["iss"] == issuer


def test_prompt_none_without_a_session_is_login_required(endpoints, issuer, web_client):
    answer = requests.get(authorize_url(endpoints, web_client, prompt="none"), allow_redirects=False, timeout=10)
    params = redirect_params(answer)
    assert params == {"error": "login_required", "state": "st4te", "iss": issuer}


def test_prompt_none_needs_earlier_consent(browser, endpoints, web_client, alice):
    run_flow(browser, endpoints, web_client, scope="openid")
    assert "code" in redirect_params(browser.go(authorize_url(endpoints, web_client, prompt="none")))
    params = redirect_params(browser.go(authorize_url(endpoints, web_client, prompt="none", scope="openid email")))
    assert params["error"] == "consent_required"


def test_prompt_login_asks_for_the_password_again_without_looping(browser, endpoints, web_client, alice):
    run_flow(browser, endpoints, web_client, scope="openid")
    page = browser.go(authorize_url(endpoints, web_client, prompt="login"), username=None)
    assert 'name="password"' in page.text
    assert "code" in redirect_params(browser.go(authorize_url(endpoints, web_client, prompt="login"), consent=None))


def test_max_age_zero_forces_a_fresh_sign_in_reflected_in_auth_time(browser, endpoints, web_client, alice):
    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client, scope="openid")
    first = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    from .conftest import verify_jwt

    first_auth_time = verify_jwt(first["id_token"], endpoints["jwks"]).claims["auth_time"]
    time.sleep(1.1)
    assert 'name="password"' in browser.go(authorize_url(endpoints, web_client, max_age="0"), username=None).text
    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client, scope="openid", max_age="0")
    second = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert verify_jwt(second["id_token"], endpoints["jwks"]).claims["auth_time"] > first_auth_time


def test_login_hint_prefills_the_sign_in_form(browser, endpoints, web_client, alice):
    page = browser.go(authorize_url(endpoints, web_client, login_hint="alice@acme.example"), username=None)
    assert 'value="alice@acme.example"' in page.text


def test_consent_post_without_csrf_is_refused(browser, endpoints, web_client, alice):
    page = browser.go(authorize_url(endpoints, web_client), consent=None)
    assert 'name="decision"' in page.text
    forged = requests.post(
        page.url, data={"decision": "allow"}, cookies=browser.session.cookies, allow_redirects=False, timeout=10
    )
    assert forged.status_code == 403
