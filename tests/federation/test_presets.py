"""Presets: Google, Microsoft Entra ID and GitHub. Their real endpoints are out of reach here, so the
configuration is tested as units (what the authorization request sends, which issuer is enforced),
and GitHub's OAuth 2.0 + REST user API flow runs against a local server speaking its protocol."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.core.exceptions import ValidationError

from lumoauth.events.models import AuditEvent
from oauth.federation.models import OIDCConnection
from oauth.federation.services import create_connection
from tenants.models import FederatedIdentity, User
from tests.browser import Browser

pytestmark = pytest.mark.django_db


def query_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_google_preset_sends_an_oidc_code_request(tenant, client):
    connection = create_connection(
        tenant,
        slug="google",
        name="Google",
        preset="google",
        client_id="123.apps.googleusercontent.com",
        client_secret="s",
    )
    assert connection.issuer == "https://accounts.google.com" and connection.jwks_uri.startswith(
        "https://www.googleapis"
    )
    assert connection.uses_id_token and connection.id_token_algorithms == ["RS256"]
    response = client.get("/t/acme/federation/oidc/google/login?next=/t/acme/account&login_hint=ann@gmail.com")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    query = query_of(location)
    assert query["response_type"] == "code" and query["client_id"] == "123.apps.googleusercontent.com"
    assert query["redirect_uri"] == "http://testserver/t/acme/federation/oidc/google/callback"
    assert query["scope"] == "openid email profile" and query["login_hint"] == "ann@gmail.com"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 43 and len(query["nonce"]) >= 43
    # Each start is a fresh state, nonce and verifier.
    second = query_of(client.get("/t/acme/federation/oidc/google/login")["Location"])
    assert second["state"] != query["state"] and second["code_challenge"] != query["code_challenge"]


def test_the_redirect_uri_is_always_the_canonical_one(tenant, client):
    create_connection(tenant, slug="google", name="Google", preset="google", client_id="c", client_secret="s")
    response = client.get("/orgs/acme/federation/oidc/google/login")
    assert query_of(response["Location"])["redirect_uri"] == "http://testserver/t/acme/federation/oidc/google/callback"


def test_microsoft_single_directory_and_multi_tenant(tenant):
    tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    single = create_connection(
        tenant,
        slug="entra",
        name="Contoso",
        preset="microsoft",
        microsoft_tenant=tid.upper(),
        client_id="c",
        client_secret="s",
    )
    assert single.issuer == f"https://login.microsoftonline.com/{tid}/v2.0" and not single.issuer_is_template
    assert single.authorization_endpoint == f"https://login.microsoftonline.com/{tid}/oauth2/v2.0/authorize"
    assert single.jwks_uri == f"https://login.microsoftonline.com/{tid}/discovery/v2.0/keys"
    multi = create_connection(
        tenant,
        slug="entra-any",
        name="Any work account",
        preset="microsoft",
        microsoft_tenant="organizations",
        client_id="c",
        client_secret="s",
        allowed_tenant_ids=[tid],
    )
    assert multi.issuer == "https://login.microsoftonline.com/{tenantid}/v2.0" and multi.issuer_is_template
    assert multi.token_endpoint == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
    for bad in ("", "contoso.onmicrosoft.com", "consumers", "../common"):
        with pytest.raises(ValidationError):
            create_connection(
                tenant,
                slug="bad",
                name="Bad",
                preset="microsoft",
                microsoft_tenant=bad,
                client_id="c",
                client_secret="s",
            )
    with pytest.raises(ValidationError) as refused:  # a directory allow-list only makes sense for common/organizations
        create_connection(
            tenant,
            slug="bad",
            name="Bad",
            preset="microsoft",
            microsoft_tenant=tid,
            client_id="c",
            client_secret="s",
            allowed_tenant_ids=[tid],
        )
    assert "allowed_tenant_ids" in refused.value.message_dict


def test_github_preset_is_plain_oauth(tenant, client):
    connection = create_connection(
        tenant, slug="github", name="GitHub", preset="github", client_id="Iv1.abc", client_secret="s"
    )
    assert not connection.uses_id_token and connection.jwks_uri == ""
    query = query_of(client.get("/t/acme/federation/oidc/github/login")["Location"])
    assert (
        query["scope"] == "read:user user:email" and "nonce" not in query and query["code_challenge_method"] == "S256"
    )


def test_connection_rules(tenant):
    base = {"slug": "g", "name": "G", "preset": "google", "client_id": "c", "client_secret": "s"}
    for field, value in [
        ("scopes", "email profile"),  # no openid
        ("scopes", 'openid "quoted"'),
        ("claim_mapping", {"is_tenant_admin": "admin"}),
        ("claim_mapping", {"email_verified": "email_verified"}),
        ("email_domains", ["not a domain"]),
        ("group_mapping", {"admins": ""}),
        ("client_secret", ""),
        ("client_id", ""),
        ("slug", "Not A Slug"),
        ("preset", "myspace"),
    ]:
        with pytest.raises(ValidationError):
            create_connection(tenant, **{**base, field: value})
    assert not OIDCConnection.objects.exists()
    create_connection(tenant, **base)
    with pytest.raises(ValidationError) as taken:
        create_connection(tenant, **base)
    assert "slug" in taken.value.message_dict
    assert AuditEvent.objects.filter(action="oidc.connection.created").count() == 1


class FakeGitHub(BaseHTTPRequestHandler):
    """GitHub's OAuth web flow and REST user API, as far as sign-in uses them."""

    state: dict = {}

    def log_message(self, *args):
        pass

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/login/oauth/authorize":
            self.state["authorize"] = query
            self.send_response(302)
            self.send_header(
                "Location", f"{query['redirect_uri']}?{urlencode({'code': 'gh-code', 'state': query['state']})}"
            )
            self.end_headers()
            return
        if self.headers.get("Authorization") != "Bearer gho_token":
            return self._json(401, {"message": "Bad credentials"})
        if parts.path == "/user":
            return self._json(200, self.state["user"])
        if parts.path == "/user/emails":
            return self._json(200, self.state["emails"])
        self._json(404, {"message": "Not Found"})

    def do_POST(self):
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        self.state["token_form"] = form
        # GitHub answers a bad code with HTTP 200 and an error member.
        if form.get("code") != "gh-code" or form.get("client_secret") != "gh-secret":
            return self._json(200, {"error": "bad_verification_code"})
        self._json(200, {"access_token": "gho_token", "token_type": "bearer", "scope": "read:user,user:email"})


@pytest.fixture
def github(tenant, live_server, loopback_outbound):
    FakeGitHub.state = {
        "user": {
            "id": 4242,
            "login": "octocat",
            "name": "The Octocat",
            "email": "public@octo.example",
            "avatar_url": "https://avatars.example/u/4242",
            "html_url": "https://github.com/octocat",
        },
        "emails": [
            {"email": "old@octo.example", "primary": False, "verified": True},
            {"email": "octo@work.example", "primary": True, "verified": True},
        ],
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    connection = create_connection(
        tenant, slug="github", name="GitHub", preset="github", client_id="Iv1.abc", client_secret="gh-secret"
    )
    # The preset's endpoints, pointed at the local server.
    OIDCConnection.objects.filter(pk=connection.pk).update(
        authorization_endpoint=f"{base}/login/oauth/authorize",
        token_endpoint=f"{base}/login/oauth/access_token",
        userinfo_endpoint=f"{base}/user",
    )
    yield live_server.url
    server.shutdown()
    server.server_close()


def github_sign_in(base):
    browser = Browser(base)
    start = browser.go(f"{base}/t/acme/federation/oidc/github/login", username=None)
    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"]
    return browser.go(callback)


@pytest.mark.django_db(transaction=True)
def test_github_sign_in_uses_the_primary_verified_email(github, tenant):
    page = github_sign_in(github)
    assert page.status_code == 200 and page.url.endswith("/t/acme/account"), page.text[:300]
    user = User.objects.get(tenant=tenant)
    assert (user.email, user.email_verified, user.username) == ("octo@work.example", True, "octocat")
    assert (user.name, user.profile) == ("The Octocat", "https://github.com/octocat")
    assert FederatedIdentity.objects.get(user=user).subject == "4242"
    form = FakeGitHub.state["token_form"]
    assert form["client_id"] == "Iv1.abc" and form["code_verifier"] and form["grant_type"] == "authorization_code"


@pytest.mark.django_db(transaction=True)
def test_github_without_a_verified_primary_email(github, tenant):
    FakeGitHub.state["emails"] = [{"email": "octo@work.example", "primary": True, "verified": False}]
    assert github_sign_in(github).status_code == 200
    user = User.objects.get(tenant=tenant)
    assert user.email == "" and user.email_verified is False  # the public profile email is never used


@pytest.mark.django_db(transaction=True)
def test_github_error_in_a_200_response(github, tenant):
    OIDCConnection.objects.update(client_secret_encrypted=b"")  # the secret is gone: the token request fails
    page = github_sign_in(github)
    assert page.status_code == 400 and not User.objects.filter(tenant=tenant).exists()
    failure = AuditEvent.objects.get(action="login.failed")
    assert failure.details["reason"] == "token_error:bad_verification_code"
    assert requests.get(f"{github}/t/acme/federation/oidc/github/callback", timeout=10).status_code == 400
