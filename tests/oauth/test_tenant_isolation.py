"""Nothing of tenant A is usable at tenant B: clients, codes, tokens, keys, registrations."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc.errors import JoseError

from oauth.models import AuthMethod, GrantType
from oauth.services.clients import ClientSpec, create_client
from oauth.services.registration import create_initial_access_token

from .conftest import REDIRECT_URI, verify_jwt
from .test_authorization_code import run_flow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other(live_server, other_tenant):
    """Tenant B's endpoints and a service client there."""
    base = f"{live_server.url}/t/{other_tenant.slug}/api/v1"
    client, secret = create_client(
        other_tenant,
        ClientSpec(
            name="B service",
            grant_types=[GrantType.CLIENT_CREDENTIALS],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        ),
    )
    return {
        "base": base,
        "token": f"{base}/oauth/token",
        "introspect": f"{base}/oauth/introspect",
        "revoke": f"{base}/oauth/revoke",
        "userinfo": f"{base}/oauth/userinfo",
        "authorize": f"{base}/oauth/authorize",
        "jwks": f"{base}/.well-known/jwks.json",
        "client": client,
        "secret": secret,
    }


def test_client_of_a_is_unknown_at_b(service_client, other):
    answer = requests.post(
        other["token"],
        auth=(service_client.client_id, service_client.secret),
        timeout=10,
        data={"grant_type": "client_credentials"},
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_authorize_at_b_with_client_of_a_shows_a_page(browser, web_client, other):
    session = OAuth2Session(web_client.client_id, scope="openid", redirect_uri=REDIRECT_URI)
    url, _ = session.create_authorization_url(other["authorize"])
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "cannot continue" in answer.text  # never redirected


def test_code_of_a_is_unknown_at_b(browser, endpoints, web_client, other, alice):
    _s, verifier, _n, _r, params = run_flow(browser, endpoints, web_client)
    answer = requests.post(
        other["token"],
        auth=(other["client"].client_id, other["secret"]),
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    assert answer.status_code in (400, 401) and answer.json()["error"] in ("invalid_grant", "unauthorized_client")


def test_tokens_of_a_are_inactive_and_useless_at_b(browser, endpoints, web_client, other, alice):
    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client)
    token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    b_auth = (other["client"].client_id, other["secret"])
    for value in (token["access_token"], token["refresh_token"]):
        answer = requests.post(other["introspect"], auth=b_auth, data={"token": value}, timeout=10)
        assert answer.json() == {"active": False}
    assert (
        requests.get(
            other["userinfo"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
        ).status_code
        == 401
    )
    refresh = requests.post(
        other["token"],
        auth=b_auth,
        timeout=10,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert refresh.status_code == 400
    requests.post(other["revoke"], auth=b_auth, data={"token": token["access_token"]}, timeout=10)
    # Still valid at A: B could not revoke it.
    assert session.get(endpoints["userinfo"]).status_code == 200


def test_signing_keys_are_per_tenant(service_client, endpoints, other):
    token = OAuth2Session(service_client.client_id, service_client.secret).fetch_token(
        endpoints["token"], grant_type="client_credentials"
    )["access_token"]
    verify_jwt(token, endpoints["jwks"])
    with pytest.raises(JoseError):  # B's JWKS has no key with A's kid
        verify_jwt(token, other["jwks"])
    kids_a = {k["kid"] for k in requests.get(endpoints["jwks"], timeout=10).json()["keys"]}
    kids_b = {k["kid"] for k in requests.get(other["jwks"], timeout=10).json()["keys"]}
    assert not kids_a & kids_b


def test_initial_access_token_of_a_cannot_register_at_b(tenant, other):
    _, token = create_initial_access_token(tenant)
    answer = requests.post(
        f"{other['base']}/oauth/register",
        json={"redirect_uris": [REDIRECT_URI]},
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 401


def test_registration_of_a_is_unknown_at_b(tenant, issuer, other):
    _, initial = create_initial_access_token(tenant)
    info = requests.post(
        f"{issuer}/oauth/register",
        json={"redirect_uris": [REDIRECT_URI]},
        timeout=10,
        headers={"Authorization": f"Bearer {initial}"},
    ).json()
    answer = requests.get(
        f"{other['base']}/oauth/register/{info['client_id']}",
        timeout=10,
        headers={"Authorization": f"Bearer {info['registration_access_token']}"},
    )
    assert answer.status_code == 401


def test_logout_at_b_does_not_accept_a_id_token(browser, endpoints, web_client, other, alice):
    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client, scope="openid")
    id_token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )["id_token"]
    answer = requests.get(f"{other['base']}/oauth/logout?id_token_hint={id_token}", allow_redirects=False, timeout=10)
    assert answer.status_code == 400
