"""RP-initiated logout, and dynamic client registration then use of the new client (Authlib)."""

import re

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from lumoauth.events.models import AuditEvent
from oauth.models import Client
from oauth.services.registration import create_initial_access_token

from .conftest import REDIRECT_URI
from .test_authorization_code import run_flow

pytestmark = pytest.mark.django_db(transaction=True)


def _signed_in_with_id_token(browser, endpoints, web_client):
    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client, scope="openid")
    return session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )


def test_rp_initiated_logout(browser, endpoints, issuer, web_client, alice):
    token = _signed_in_with_id_token(browser, endpoints, web_client)
    logout_url = (
        f"{issuer}/oauth/logout?id_token_hint={token['id_token']}"
        f"&post_logout_redirect_uri=https://app.example.com/bye&state=s123"
    )
    confirm = browser.session.get(logout_url, timeout=10)
    assert confirm.status_code == 200 and "Sign out?" in confirm.text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.text).group(1)
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', confirm.text))
    done = browser.session.post(
        logout_url,
        data={**hidden, "confirm": "yes", "csrfmiddlewaretoken": csrf},
        headers={"Referer": logout_url},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "https://app.example.com/bye?state=s123"
    assert AuditEvent.objects.filter(action="logout", actor_id=str(alice.pk)).exists()
    # The tenant session is over: a new authorization asks for the password again.
    session = OAuth2Session(
        web_client.client_id, web_client.secret, scope="openid", redirect_uri=REDIRECT_URI, code_challenge_method="S256"
    )
    url, _ = session.create_authorization_url(endpoints["authorize"], code_verifier=generate_token(48))
    assert 'name="password"' in browser.go(url, username=None).text


@pytest.mark.parametrize(
    "query",
    [
        "post_logout_redirect_uri=https://evil.example/",
        "client_id={client}&post_logout_redirect_uri=https://evil.example/",
        "client_id={client}&post_logout_redirect_uri=https://app.example.com/bye/extra",
        "id_token_hint=not.a.jwt&post_logout_redirect_uri=https://app.example.com/bye",
    ],
)
def test_logout_never_redirects_to_unregistered_uris(endpoints, issuer, web_client, query):
    answer = requests.get(
        f"{issuer}/oauth/logout?" + query.format(client=web_client.client_id), allow_redirects=False, timeout=10
    )
    assert answer.status_code == 400 and "cannot continue" in answer.text


def test_logout_when_not_signed_in_goes_straight_back(issuer, web_client):
    answer = requests.get(
        f"{issuer}/oauth/logout?client_id={web_client.client_id}"
        "&post_logout_redirect_uri=https://app.example.com/bye&state=x",
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "https://app.example.com/bye?state=x"


@pytest.fixture
def initial_token(tenant):
    return create_initial_access_token(tenant, label="tests")[1]


def test_register_then_use_the_new_client(tenant, endpoints, issuer, initial_token, browser, alice):
    metadata = {
        "client_name": "Registered app",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "openid email offline_access",
    }
    answer = requests.post(
        f"{issuer}/oauth/register", json=metadata, timeout=10, headers={"Authorization": f"Bearer {initial_token}"}
    )
    assert answer.status_code == 201, answer.text
    info = answer.json()
    assert info["client_secret"] and info["registration_access_token"] and info["client_secret_expires_at"] == 0
    assert info["registration_client_uri"] == f"{issuer}/oauth/register/{info['client_id']}"
    assert info["redirect_uris"] == [REDIRECT_URI] and info["client_name"] == "Registered app"
    assert Client.objects.get(client_id=info["client_id"]).tenant == tenant

    session = OAuth2Session(
        info["client_id"],
        info["client_secret"],
        scope="openid email offline_access",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",
    )
    verifier = generate_token(48)
    url, _ = session.create_authorization_url(endpoints["authorize"], code_verifier=verifier)
    response = browser.go(url)
    token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    assert token["refresh_token"] and token["id_token"]

    # RFC 7592: read, update, delete with the registration access token.
    auth = {"Authorization": f"Bearer {info['registration_access_token']}"}
    read = requests.get(info["registration_client_uri"], headers=auth, timeout=10)
    assert read.status_code == 200 and read.json()["client_id"] == info["client_id"]
    assert "client_secret" not in read.json()
    update = requests.put(
        info["registration_client_uri"],
        headers=auth,
        timeout=10,
        json={**metadata, "client_id": info["client_id"], "client_name": "Renamed app"},
    )
    assert update.status_code == 200 and update.json()["client_name"] == "Renamed app"
    new_auth = {"Authorization": f"Bearer {update.json()['registration_access_token']}"}
    assert requests.get(info["registration_client_uri"], headers=auth, timeout=10).status_code == 401
    assert requests.delete(info["registration_client_uri"], headers=new_auth, timeout=10).status_code == 204
    assert not Client.objects.filter(client_id=info["client_id"]).exists()


@pytest.mark.parametrize(
    "metadata,error",
    [
        ({"redirect_uris": ["not a uri"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://app.example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({}, "invalid_redirect_uri"),
        ({"redirect_uris": [REDIRECT_URI], "response_types": ["token"]}, "invalid_client_metadata"),
        (
            {"redirect_uris": [REDIRECT_URI], "grant_types": ["client_credentials"], "response_types": ["code"]},
            "invalid_client_metadata",
        ),
        ({"grant_types": ["refresh_token"], "response_types": []}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        (
            {
                "redirect_uris": [REDIRECT_URI],
                "token_endpoint_auth_method": "none",
                "grant_types": ["client_credentials"],
                "response_types": [],
            },
            "invalid_client_metadata",
        ),
        ({"redirect_uris": "https://app.example.com/cb"}, "invalid_client_metadata"),
        (
            {"redirect_uris": [REDIRECT_URI], "jwks": {"keys": []}, "jwks_uri": "https://x.example/jwks"},
            "invalid_client_metadata",
        ),
        (["not", "an", "object"], "invalid_client_metadata"),
    ],
)
def test_registration_validates_metadata(issuer, initial_token, metadata, error):
    answer = requests.post(
        f"{issuer}/oauth/register", json=metadata, timeout=10, headers={"Authorization": f"Bearer {initial_token}"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error
    assert not Client.objects.exists()


def test_registration_requires_a_valid_initial_access_token(issuer, other_tenant):
    _, foreign = create_initial_access_token(other_tenant)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {foreign}"}):
        answer = requests.post(
            f"{issuer}/oauth/register", json={"redirect_uris": [REDIRECT_URI]}, headers=headers, timeout=10
        )
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"
    bad_json = requests.post(
        f"{issuer}/oauth/register",
        data=b"{not json",
        timeout=10,
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    assert bad_json.status_code == 401
    assert not Client.objects.exists()


def test_registration_rejects_non_json(issuer, initial_token):
    answer = requests.post(
        f"{issuer}/oauth/register",
        data={"redirect_uris": REDIRECT_URI},
        timeout=10,
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client_metadata"


def test_a_registration_update_keeps_what_the_admin_decided(issuer, tenant, initial_token):
    """RFC 7592 §2.2 replaces the client's metadata; the portal's settings (token format, consent
    skip, token exchange policy) are the tenant's, not the client's, and survive its updates."""
    from oauth.services.clients import ClientSpec, update_client

    metadata = {
        "client_name": "Agent",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    info = requests.post(
        f"{issuer}/oauth/register", json=metadata, timeout=10, headers={"Authorization": f"Bearer {initial_token}"}
    ).json()
    client = Client.objects.get(client_id=info["client_id"])
    exchange = "urn:ietf:params:oauth:grant-type:token-exchange"
    update_client(  # what an admin does in the portal
        client,
        ClientSpec(
            name="Agent",
            grant_types=["client_credentials", exchange],
            token_endpoint_auth_method="client_secret_basic",
            token_format="opaque",
            skip_consent=True,
            token_exchange_policy="delegation",
            token_exchange_audiences=["https://api.example.com"],
        ),
    )
    auth = {"Authorization": f"Bearer {info['registration_access_token']}"}
    update = requests.put(
        info["registration_client_uri"],
        headers=auth,
        timeout=10,
        json={
            **metadata,
            "client_id": info["client_id"],
            "client_name": "Agent v2",
            "grant_types": ["client_credentials", exchange],
        },
    )
    assert update.status_code == 200, update.text
    client.refresh_from_db()
    assert client.name == "Agent v2" and client.token_format == "opaque" and client.skip_authorization
    assert (client.token_exchange_policy, client.token_exchange_audiences) == ("delegation", "https://api.example.com")
    # Dropping the grant drops its policy with it.
    auth = {"Authorization": f"Bearer {update.json()['registration_access_token']}"}
    dropped = requests.put(
        info["registration_client_uri"], headers=auth, timeout=10, json={**metadata, "client_id": info["client_id"]}
    )
    assert dropped.status_code == 200, dropped.text
    client.refresh_from_db()
    assert client.grant_types == ["client_credentials"] and client.token_exchange_policy == "none"
    assert client.token_format == "opaque"
