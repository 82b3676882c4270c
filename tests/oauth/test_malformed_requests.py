"""No OAuth endpoint answers 500 to malformed input; API errors are RFC 6749 §5.2 JSON."""

import pytest
from django.test import Client as HttpClient

pytestmark = pytest.mark.django_db

API = "/t/acme/api/v1"
ENDPOINTS = [
    "oauth/token",
    "oauth/introspect",
    "oauth/revoke",
    "oauth/userinfo",
    "oauth/register",
    "oauth/register/some-client",
    "oauth/authorize",
    "oauth/logout",
    "oauth/par",
    "oauth/device_authorization",
    ".well-known/openid-configuration",
    ".well-known/jwks.json",
]
BODIES = [
    (b"", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\xfd=\xff", "application/x-www-form-urlencoded"),
    (b"token=%ff%fe&grant_type=%00", "application/x-www-form-urlencoded"),
    (b'{"redirect_uris": [1, 2], "grant_types": {"a": 1}}', "application/json"),
    (b"[[[[[[[[[[", "application/json"),
    (b"\xff\xfe", "application/json"),
    (b"--b\r\nContent-Disposition: form-data\r\n\r\n", "multipart/form-data; boundary=b"),
    (b"<xml/>", "text/xml"),
]
HEADERS = [
    {},
    {"HTTP_AUTHORIZATION": "Basic"},
    {"HTTP_AUTHORIZATION": "Basic ===="},
    {"HTTP_AUTHORIZATION": "Basic " + "QQ==" * 3000},
    {"HTTP_AUTHORIZATION": "Bearer"},
    {"HTTP_AUTHORIZATION": "Bearer \x00\x01"},
    {"HTTP_AUTHORIZATION": "Negotiate abc"},
]


@pytest.fixture
def http(tenant, web_client):
    return HttpClient()  # raises on any server error, so a 500 fails the test


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("body,content_type", BODIES)
def test_malformed_bodies(http, endpoint, body, content_type):
    response = http.post(f"{API}/{endpoint}", data=body, content_type=content_type)
    assert response.status_code < 500


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("headers", HEADERS)
def test_malformed_authorization_headers(http, endpoint, headers):
    for method in ("get", "post", "put", "delete"):
        response = getattr(http, method)(f"{API}/{endpoint}", **headers)
        assert response.status_code < 500
        if (
            response.status_code in (400, 401)
            and endpoint.startswith("oauth/")
            and endpoint != "oauth/authorize"
            and endpoint != "oauth/logout"
            and response.content
        ):
            assert "error" in response.json()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "client_id=%ff",
        "response_type=code&client_id=\x00",
        "response_type=code&client_id=" + "a" * 5000,
        "response_type=code&client_id={client}&redirect_uri=%ff%fe",
        "response_type=code&client_id={client}&scope=%00",
        "response_type=code&client_id={client}&redirect_uri=https://app.example.com/callback&max_age=" + "9" * 50,
        "response_type=code&client_id={client}&redirect_uri=https://app.example.com/callback&prompt=%ff",
        "response_type=code&response_type=token&client_id={client}",
        "id_token_hint=a.b.c&post_logout_redirect_uri=%ff",
        "client_id={client}&request_uri=%ff",
        "client_id={client}&request_uri=urn:ietf:params:oauth:request_uri:" + "a" * 5000,
        "request_uri=urn:ietf:params:oauth:request_uri:x&request_uri=y",
    ],
)
@pytest.mark.parametrize("endpoint", ["oauth/authorize", "oauth/logout"])
def test_malformed_query_strings(http, web_client, endpoint, query):
    response = http.get(f"{API}/{endpoint}?" + query.format(client=web_client.client_id))
    assert response.status_code < 500


def test_api_errors_are_json(http, web_client):
    response = http.post(f"{API}/oauth/token", {"grant_type": "client_credentials"})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    response = http.get(f"{API}/oauth/userinfo")
    assert response.status_code == 401 and "Bearer" in response["WWW-Authenticate"]
    response = http.get(f"{API}/oauth/token")
    assert response.status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/oauth/logout?client_id=a%00b",
        f"{API}/oauth/register/a%00b",
        "/t/acme/saml/sp/login?idp=a%00",
        "/t/acme/saml/idp/sso?sp=x%00",
        "/t/acme/login?next=%00",
        f"{API}/oauth/authorize?client_id=%00",
    ],
)
def test_nul_bytes_are_refused_before_any_query(http, path):
    response = http.get(path, HTTP_AUTHORIZATION="Bearer x")
    assert response.status_code == 400


def test_nul_bytes_in_registration_json(http, tenant):
    from oauth.services.registration import create_initial_access_token

    _, token = create_initial_access_token(tenant)
    response = http.post(
        f"{API}/oauth/register",
        data='{"client_name": "a\\u0000b", "redirect_uris": ["https://x/cb"]}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
