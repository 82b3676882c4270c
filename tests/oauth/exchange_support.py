"""Shared by the token exchange tests: token types, agents (clients allowed to exchange), the
user's tokens through the hosted pages, and the exchange request itself."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from oauth.models import GrantType, TokenExchangePolicy
from oauth.services.clients import ClientSpec, create_client
from oauth.services.scopes import define_api_scope

from .test_authorization_code import run_flow

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
REFRESH = "urn:ietf:params:oauth:token-type:refresh_token"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
JWT = "urn:ietf:params:oauth:token-type:jwt"
SAML2 = "urn:ietf:params:oauth:token-type:saml2"
CALENDAR = "https://calendar.example.com"
MAIL = "https://mail.example.com"
AGENTS = "https://agents.example.net"


@pytest.fixture
def api_scopes(tenant):
    define_api_scope(tenant, "calendar.read", "Read your calendar")
    define_api_scope(tenant, "calendar.write", "Change your calendar")


@pytest.fixture
def make_agent(tenant, api_scopes):
    """A confidential client (an AI agent or a service) allowed to exchange tokens; it can also get
    its own token with client_credentials, to show as the actor."""

    def make(name, policy=TokenExchangePolicy.DELEGATION, audiences=(CALENDAR,), target=None):
        client, secret = create_client(
            target or tenant,
            ClientSpec(
                name=name,
                grant_types=[GrantType.CLIENT_CREDENTIALS, GrantType.TOKEN_EXCHANGE],
                token_exchange_policy=policy,
                token_exchange_audiences=list(audiences),
            ),
        )
        client.secret = secret
        return client

    return make


@pytest.fixture
def user_tokens(browser, endpoints, web_client, alice, api_scopes):
    """Alice's tokens at the web app (authorization code + PKCE through the real pages)."""
    session, verifier, _nonce, response, _params = run_flow(
        browser, endpoints, web_client, scope="openid email calendar.read calendar.write offline_access"
    )
    return session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )


def own_token(endpoints, agent) -> str:
    """The agent's own access token (client credentials): its identity as an actor."""
    session = OAuth2Session(agent.client_id, agent.secret)
    return session.fetch_token(endpoints["token"], grant_type="client_credentials")["access_token"]


def exchange(endpoints, client, subject_token, subject_token_type=ACCESS, secret=None, **params):
    data = {
        "grant_type": EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": subject_token_type,
        **params,
    }
    return requests.post(endpoints["token"], data=data, auth=(client.client_id, secret or client.secret), timeout=10)


def assert_error(answer, error, status=400):
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.json()["error"] == error, answer.json()
