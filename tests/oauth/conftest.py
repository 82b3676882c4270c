"""OAuth test fixtures: a tenant served by live_server, its clients, and a scripted browser that
goes through the real sign-in and consent pages over HTTP."""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from oauth.models import AuthMethod, Client, GrantType, TokenFormat
from oauth.services.clients import ClientSpec, create_client

REDIRECT_URI = "https://app.example.com/callback"


@dataclass
class RegisteredClient:
    client: Client
    secret: str | None

    @property
    def client_id(self) -> str:
        return self.client.client_id


@pytest.fixture
def issuer(live_server, tenant):
    return f"{live_server.url}/t/{tenant.slug}/api/v1"


@pytest.fixture
def endpoints(issuer):
    return {
        "authorize": f"{issuer}/oauth/authorize",
        "token": f"{issuer}/oauth/token",
        "userinfo": f"{issuer}/oauth/userinfo",
        "introspect": f"{issuer}/oauth/introspect",
        "revoke": f"{issuer}/oauth/revoke",
        "jwks": f"{issuer}/.well-known/jwks.json",
        "discovery": f"{issuer}/.well-known/openid-configuration",
    }


@pytest.fixture
def make_client(db):
    def make(tenant, name="Test app", **spec_fields) -> RegisteredClient:
        spec_fields.setdefault("redirect_uris", [REDIRECT_URI])
        client, secret = create_client(tenant, ClientSpec(name=name, **spec_fields))
        return RegisteredClient(client, secret)

    return make


@pytest.fixture
def web_client(tenant, make_client):
    return make_client(
        tenant,
        "Web app",
        client_type=Client.CLIENT_CONFIDENTIAL,
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
        token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        token_format=TokenFormat.JWT,
        post_logout_redirect_uris=["https://app.example.com/bye"],
    )


@pytest.fixture
def spa_client(tenant, make_client):
    return make_client(
        tenant,
        "SPA",
        client_type=Client.CLIENT_PUBLIC,
        grant_types=[GrantType.AUTHORIZATION_CODE],
        token_endpoint_auth_method=AuthMethod.NONE,
        token_format=TokenFormat.OPAQUE,
    )


@pytest.fixture
def service_client(tenant, make_client):
    return make_client(
        tenant,
        "Service",
        grant_types=[GrantType.CLIENT_CREDENTIALS],
        redirect_uris=[],
        token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
    )


def verify_jwt(token: str, jwks_url: str, **expected):
    """Verify with joserfc against the published JWKS; check the expected claims."""
    keys = KeySet.import_key_set(requests.get(jwks_url, timeout=10).json())
    decoded = jwt.decode(token, keys)
    for name, value in expected.items():
        assert decoded.claims.get(name) == value, (name, decoded.claims.get(name), value)
    return decoded


def redirect_params(response) -> dict:
    assert response.is_redirect, (response.status_code, response.text[:500])
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
