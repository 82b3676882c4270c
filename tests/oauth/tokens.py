"""Real tokens without a live server: the authorization code flow (PKCE S256) through the Django
test client - the hosted sign-in, the consent page, the token endpoint."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from django.test import Client as BrowserClient

from oauth.models import AuthMethod, Client, GrantType
from oauth.services.clients import ClientSpec, create_client
from tests.browser import PASSWORD

REDIRECT_URI = "https://app.example.com/callback"


def web_client(tenant, name="Web app") -> tuple[Client, str]:
    """A confidential client allowed refresh tokens; returns (client, secret)."""
    return create_client(
        tenant,
        ClientSpec(
            name=name,
            grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
            redirect_uris=[REDIRECT_URI],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        ),
    )


def _basic(client: Client, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()


def issue_tokens(tenant, client: Client, secret: str, username: str, scope="openid email offline_access") -> dict:
    """Sign `username` in, consent, redeem the code: the token endpoint's JSON answer."""
    browser = BrowserClient()
    assert browser.post(f"/t/{tenant.slug}/login", {"identifier": username, "password": PASSWORD}).status_code == 302
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "s",
            "nonce": "n",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    authorize = f"/t/{tenant.slug}/api/v1/oauth/authorize?{query}"
    answer = browser.post(authorize, {"decision": "allow"})
    assert answer.status_code == 302, answer.content[:500]
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    token = browser.post(
        f"/t/{tenant.slug}/api/v1/oauth/token",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
        HTTP_AUTHORIZATION=_basic(client, secret),
    )
    assert token.status_code == 200, token.content
    return token.json()


def refresh(tenant, client: Client, secret: str, refresh_token: str):
    """The token endpoint's answer to a refresh_token grant (a Django test response)."""
    return BrowserClient().post(
        f"/t/{tenant.slug}/api/v1/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=_basic(client, secret),
    )


def introspect(tenant, client: Client, secret: str, token: str) -> dict:
    return (
        BrowserClient()
        .post(
            f"/t/{tenant.slug}/api/v1/oauth/introspect",
            {"token": token},
            HTTP_AUTHORIZATION=_basic(client, secret),
        )
        .json()
    )
