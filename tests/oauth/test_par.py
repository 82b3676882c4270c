"""Pushed authorization requests (RFC 9126) over real HTTP: requests pushes (a third-party HTTP
client, with HTTP Basic client authentication), the scripted browser goes through sign-in and
consent, Authlib redeems the code, joserfc verifies the ID token against the published JWKS."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.utils import timezone

from lumoauth.events.models import AuditEvent
from oauth.models import Client, GrantType, PushedAuthorizationRequest
from oauth.services.clients import ClientSpec, create_client, update_client
from oauth.services.server_settings import set_requires_pushed_authorization_requests
from tests.browser import Browser

from .conftest import REDIRECT_URI, redirect_params, verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)

PREFIX = "urn:ietf:params:oauth:request_uri:"


@pytest.fixture
def par_endpoint(issuer):
    return f"{issuer}/oauth/par"


def authorization_params(client, verifier=None, **overrides):
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "st4te",
        "nonce": "n0nce",
        "code_challenge": create_s256_code_challenge(verifier or generate_token(48)),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def push(par_endpoint, client, data, auth=True):
    return requests.post(
        par_endpoint, data=data, auth=(client.client_id, client.secret) if auth and client.secret else None, timeout=10
    )


def authorize_with(endpoints, client_id, request_uri, **extra):
    return f"{endpoints['authorize']}?{urlencode({'client_id': client_id, 'request_uri': request_uri, **extra})}"


def error_page(response, error):
    assert response.status_code == 400 and "Location" not in response.headers, (response.status_code, response.text)
    assert f"<code>{error}</code>" in response.text, response.text[:800]


def test_discovery_lists_the_endpoint_and_the_tenant_switch(endpoints, issuer, tenant):
    document = requests.get(endpoints["discovery"], timeout=10).json()
    assert document["pushed_authorization_request_endpoint"] == f"{issuer}/oauth/par"
    assert document["require_pushed_authorization_requests"] is False
    set_requires_pushed_authorization_requests(tenant, True)
    document = requests.get(endpoints["discovery"], timeout=10).json()
    assert document["require_pushed_authorization_requests"] is True
    assert AuditEvent.objects.filter(tenant=tenant, action="tenant.updated").exists()


def test_push_then_authorize_then_redeem(browser, endpoints, issuer, par_endpoint, web_client, alice, tenant):
    verifier = generate_token(48)
    answer = push(par_endpoint, web_client, authorization_params(web_client, verifier))
    assert answer.status_code == 201, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["request_uri"].startswith(PREFIX) and len(body["request_uri"]) > len(PREFIX) + 40
    assert 60 <= body["expires_in"] <= 600
    # Only the hash of the reference is stored.
    assert not PushedAuthorizationRequest.objects.filter(reference_hash=body["request_uri"]).exists()

    # RFC 9126 §4: only client_id and request_uri travel through the browser; parameters added to
    # the URL are ignored in favour of the pushed ones.
    url = authorize_with(endpoints, web_client.client_id, body["request_uri"], scope="openid phone", state="forged")
    response = browser.go(url)
    params = redirect_params(response)
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    assert params["state"] == "st4te" and params["iss"] == issuer and params["code"]

    session = OAuth2Session(web_client.client_id, web_client.secret, redirect_uri=REDIRECT_URI)
    token = session.fetch_token(endpoints["token"], code=params["code"], code_verifier=verifier)
    assert set(token["scope"].split()) == {"openid", "email"}
    id_token = verify_jwt(token["id_token"], endpoints["jwks"], iss=issuer, aud=web_client.client_id, nonce="n0nce")
    assert id_token.claims["sub"] == str(alice.sub)

    pushed = AuditEvent.objects.get(tenant=tenant, action="oauth.par.pushed")
    assert pushed.actor_id == web_client.client_id and pushed.details["scope"] == "openid email"
    granted = AuditEvent.objects.get(tenant=tenant, action="oauth.authorization.granted")
    assert granted.details["pushed"] is True


def test_public_client_pushes_with_its_client_id(browser, endpoints, par_endpoint, spa_client, alice):
    verifier = generate_token(48)
    answer = push(par_endpoint, spa_client, authorization_params(spa_client, verifier), auth=False)
    assert answer.status_code == 201, answer.text
    params = redirect_params(browser.go(authorize_with(endpoints, spa_client.client_id, answer.json()["request_uri"])))
    session = OAuth2Session(spa_client.client_id, redirect_uri=REDIRECT_URI, token_endpoint_auth_method="none")
    token = session.fetch_token(endpoints["token"], code=params["code"], code_verifier=verifier)
    assert token["access_token"]


def test_request_uri_is_single_use(browser, endpoints, par_endpoint, web_client, alice):
    request_uri = push(par_endpoint, web_client, authorization_params(web_client)).json()["request_uri"]
    url = authorize_with(endpoints, web_client.client_id, request_uri)
    assert "code" in redirect_params(browser.go(url))
    # Used: refused in the same browser and in any other.
    error_page(browser.go(url), "invalid_request_uri")
    error_page(Browser(browser.base_url).go(url), "invalid_request_uri")
    assert PushedAuthorizationRequest.objects.get().completed_at is not None


def test_a_claimed_request_uri_is_refused_to_another_browser(browser, endpoints, par_endpoint, web_client, alice):
    request_uri = push(par_endpoint, web_client, authorization_params(web_client)).json()["request_uri"]
    url = authorize_with(endpoints, web_client.client_id, request_uri)
    # The first browser claims it and is sent to sign in (it has not answered yet) ...
    assert 'name="password"' in browser.go(url, username=None).text
    # ... so an attacker's browser holding the same URL gets nothing ...
    error_page(Browser(browser.base_url).go(url), "invalid_request_uri")
    # ... while the first browser continues through sign-in and consent to its code.
    assert "code" in redirect_params(browser.go(url))


def test_expired_request_uri_is_refused(browser, endpoints, par_endpoint, web_client, alice):
    request_uri = push(par_endpoint, web_client, authorization_params(web_client)).json()["request_uri"]
    PushedAuthorizationRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    error_page(browser.go(authorize_with(endpoints, web_client.client_id, request_uri)), "invalid_request_uri")


def test_request_uri_is_bound_to_the_client_that_pushed_it(browser, endpoints, par_endpoint, web_client, make_client):
    other = make_client(web_client.client.tenant, "Other app")
    request_uri = push(par_endpoint, web_client, authorization_params(web_client)).json()["request_uri"]
    error_page(browser.go(authorize_with(endpoints, other.client_id, request_uri)), "invalid_request_uri")
    error_page(browser.go(f"{endpoints['authorize']}?{urlencode({'request_uri': request_uri})}"), "invalid_request_uri")
    # Not a reference from the PAR endpoint (request_uri by value from any URL is not offered).
    error_page(
        browser.go(authorize_with(endpoints, web_client.client_id, "https://evil.example/r")), "invalid_request_uri"
    )
    error_page(browser.go(authorize_with(endpoints, web_client.client_id, PREFIX + "guess")), "invalid_request_uri")


def test_client_requiring_par_refuses_unpushed_requests(browser, endpoints, issuer, par_endpoint, web_client, alice):
    spec = ClientSpec(
        name="Web app",
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        redirect_uris=[REDIRECT_URI],
        require_pushed_authorization_requests=True,
    )
    update_client(Client.objects.get(pk=web_client.client.pk), spec)
    plain = f"{endpoints['authorize']}?{urlencode(authorization_params(web_client))}"
    params = redirect_params(browser.go(plain))
    assert params["error"] == "invalid_request" and params["state"] == "st4te" and params["iss"] == issuer
    assert "pushed" in params["error_description"]
    request_uri = push(par_endpoint, web_client, authorization_params(web_client)).json()["request_uri"]
    assert "code" in redirect_params(browser.go(authorize_with(endpoints, web_client.client_id, request_uri)))


def test_tenant_requiring_par_refuses_unpushed_requests_of_every_client(browser, endpoints, spa_client, tenant, alice):
    set_requires_pushed_authorization_requests(tenant, True)
    params = redirect_params(browser.go(f"{endpoints['authorize']}?{urlencode(authorization_params(spa_client))}"))
    assert params["error"] == "invalid_request"


@pytest.mark.parametrize(
    "overrides,error",
    [
        ({"redirect_uri": "https://evil.example/callback"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "openid nonsense"}, "invalid_scope"),
        ({"request_uri": PREFIX + "abc"}, "invalid_request"),  # RFC 9126 §2.1
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"client_id": "someone-else"}, "invalid_client"),
    ],
)
def test_push_errors(par_endpoint, web_client, overrides, error):
    answer = push(par_endpoint, web_client, authorization_params(web_client, **overrides))
    assert answer.status_code == (401 if error == "invalid_client" else 400), answer.text
    assert answer.json()["error"] == error
    assert answer.headers["Cache-Control"] == "no-store"
    assert not PushedAuthorizationRequest.objects.exists()
    assert AuditEvent.objects.filter(action="oauth.par.failed", details__error=error).exists()


def test_push_needs_pkce_from_public_clients(par_endpoint, spa_client):
    data = authorization_params(spa_client, code_challenge=None, code_challenge_method=None)
    answer = push(par_endpoint, spa_client, data, auth=False)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_push_needs_client_authentication(par_endpoint, web_client):
    data = authorization_params(web_client)
    anonymous = requests.post(par_endpoint, data=data, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    wrong = requests.post(par_endpoint, data=data, auth=(web_client.client_id, "wrong"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    # A confidential client cannot pass itself off as public with its client_id alone.
    assert requests.post(par_endpoint, data={**data, "client_id": web_client.client_id}, timeout=10).status_code == 401


def test_push_refuses_malformed_requests(par_endpoint, web_client, service_client):
    auth = (web_client.client_id, web_client.secret)
    data = authorization_params(web_client)
    as_json = requests.post(par_endpoint, json=data, auth=auth, timeout=10)
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    twice = requests.post(par_endpoint, data=list(data.items()) + [("scope", "openid")], auth=auth, timeout=10)
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"
    assert requests.get(par_endpoint, timeout=10).status_code == 405
    # A client without the authorization_code grant cannot push authorization requests.
    answer = push(par_endpoint, service_client, authorization_params(service_client))
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"


def test_tenant_isolation(live_server, browser, endpoints, par_endpoint, web_client, other_tenant, alice):
    """A request_uri of tenant A is unknown at B, whichever client presents it; A's client cannot
    push at B."""
    b_client, _ = create_client(
        other_tenant,
        ClientSpec(name="B app", redirect_uris=[REDIRECT_URI], grant_types=[GrantType.AUTHORIZATION_CODE]),
    )
    request_uri = push(par_endpoint, web_client, authorization_params(web_client)).json()["request_uri"]
    other_base = f"{live_server.url}/t/{other_tenant.slug}/api/v1/oauth"
    for client_id in (web_client.client_id, b_client.client_id):
        at_b = f"{other_base}/authorize?{urlencode({'client_id': client_id, 'request_uri': request_uri})}"
        error_page(browser.go(at_b), "invalid_request_uri")
    answer = requests.post(
        f"{other_base}/par", data=authorization_params(web_client), auth=(web_client.client_id, web_client.secret)
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    # Still unused at A.
    assert "code" in redirect_params(browser.go(authorize_with(endpoints, web_client.client_id, request_uri)))


def test_registration_metadata_can_require_par(issuer, tenant):
    """RFC 9126 §6: require_pushed_authorization_requests is client metadata at registration."""
    from oauth.services.registration import create_initial_access_token

    _, initial = create_initial_access_token(tenant, label="dev")
    metadata = {
        "client_name": "Registered",
        "redirect_uris": [REDIRECT_URI],
        "require_pushed_authorization_requests": True,
    }
    headers = {"Authorization": f"Bearer {initial}"}
    answer = requests.post(f"{issuer}/oauth/register", json=metadata, headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text
    assert answer.json()["require_pushed_authorization_requests"] is True
    assert Client.objects.get(client_id=answer.json()["client_id"]).require_pushed_authorization_requests
    wrong = {**metadata, "require_pushed_authorization_requests": "yes"}
    answer = requests.post(f"{issuer}/oauth/register", json=wrong, headers=headers, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client_metadata"
