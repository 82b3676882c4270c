"""Client credentials with each authentication method, both token formats, and the errors."""

import time
import uuid

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt as jose_jwt
from joserfc.jwk import RSAKey

from oauth.models import AccessToken, AuthMethod, GrantType, TokenFormat

from .conftest import verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rsa_key():
    return RSAKey.generate_key(2048, parameters={"kid": "client-key-1"})


def service(tenant, make_client, method, fmt=TokenFormat.JWT, **extra):
    return make_client(
        tenant,
        f"svc-{method}",
        grant_types=[GrantType.CLIENT_CREDENTIALS],
        redirect_uris=[],
        token_endpoint_auth_method=method,
        token_format=fmt,
        **extra,
    )


def test_client_secret_basic_jwt(tenant, make_client, endpoints, issuer):
    client = service(tenant, make_client, AuthMethod.CLIENT_SECRET_BASIC)
    session = OAuth2Session(client.client_id, client.secret, token_endpoint_auth_method="client_secret_basic")
    token = session.fetch_token(endpoints["token"], grant_type="client_credentials")
    assert "refresh_token" not in token and "id_token" not in token
    decoded = verify_jwt(
        token["access_token"], endpoints["jwks"], iss=issuer, sub=client.client_id, client_id=client.client_id
    )
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["exp"] - decoded.claims["iat"] == 3600


def test_client_secret_post_opaque(tenant, make_client, endpoints):
    client = service(tenant, make_client, AuthMethod.CLIENT_SECRET_POST, TokenFormat.OPAQUE)
    session = OAuth2Session(client.client_id, client.secret, token_endpoint_auth_method="client_secret_post")
    token = session.fetch_token(endpoints["token"], grant_type="client_credentials")
    assert "." not in token["access_token"]
    assert AccessToken.objects.get(application=client.client).token_format == "opaque"


def test_client_must_use_its_registered_method(tenant, make_client, endpoints):
    client = service(tenant, make_client, AuthMethod.CLIENT_SECRET_BASIC)
    answer = requests.post(
        endpoints["token"],
        timeout=10,
        data={"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": client.secret},
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_private_key_jwt(tenant, make_client, endpoints, issuer, rsa_key):
    client = service(tenant, make_client, AuthMethod.PRIVATE_KEY_JWT, jwks={"keys": [rsa_key.as_dict(private=False)]})
    session = OAuth2Session(
        client.client_id,
        rsa_key.as_pem(private=True).decode(),
        token_endpoint_auth_method=PrivateKeyJWT(endpoints["token"], alg="RS256"),
    )
    token = session.fetch_token(endpoints["token"], grant_type="client_credentials")
    verify_jwt(token["access_token"], endpoints["jwks"], sub=client.client_id)


def _assertion(key, client_id, aud, jti=None, exp_in=60):
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "jti": jti or uuid.uuid4().hex,
        "iat": now,
        "exp": now + exp_in,
    }
    return jose_jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _post_assertion(endpoints, assertion):
    return requests.post(
        endpoints["token"],
        timeout=10,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


def test_private_key_jwt_refuses_replay_wrong_audience_and_wrong_key(tenant, make_client, endpoints, rsa_key):
    client = service(tenant, make_client, AuthMethod.PRIVATE_KEY_JWT, jwks={"keys": [rsa_key.as_dict(private=False)]})
    assertion = _assertion(rsa_key, client.client_id, endpoints["token"])
    assert _post_assertion(endpoints, assertion).status_code == 200
    replay = _post_assertion(endpoints, assertion)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    wrong_aud = _assertion(rsa_key, client.client_id, "https://other.example/token")
    assert _post_assertion(endpoints, wrong_aud).status_code == 401
    expired = _assertion(rsa_key, client.client_id, endpoints["token"], exp_in=-10)
    assert _post_assertion(endpoints, expired).status_code == 401
    stranger = RSAKey.generate_key(2048, parameters={"kid": "client-key-1"})
    assert _post_assertion(endpoints, _assertion(stranger, client.client_id, endpoints["token"])).status_code == 401


def test_wrong_secret_is_401_with_basic_challenge(tenant, make_client, endpoints, issuer):
    client = service(tenant, make_client, AuthMethod.CLIENT_SECRET_BASIC)
    answer = requests.post(
        endpoints["token"], auth=(client.client_id, "wrong"), timeout=10, data={"grant_type": "client_credentials"}
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["WWW-Authenticate"] == f'Basic realm="{issuer}"'
    assert answer.headers["Cache-Control"] == "no-store"


def test_grant_type_not_registered_for_client(tenant, make_client, endpoints, web_client):
    answer = requests.post(
        endpoints["token"],
        auth=(web_client.client_id, web_client.secret),
        timeout=10,
        data={"grant_type": "client_credentials"},
    )
    assert answer.status_code in (400, 401)
    assert answer.json()["error"] in ("unauthorized_client", "invalid_client")


def test_unknown_scope_is_refused(tenant, make_client, endpoints):
    client = service(tenant, make_client, AuthMethod.CLIENT_SECRET_BASIC, allowed_scopes="reports:read")
    answer = requests.post(
        endpoints["token"],
        auth=(client.client_id, client.secret),
        timeout=10,
        data={"grant_type": "client_credentials", "scope": "reports:write"},
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "data,error",
    [
        ({}, "unsupported_grant_type"),
        ({"grant_type": "password", "username": "alice", "password": "x"}, "unsupported_grant_type"),
        # Served since the device grant (RFC 8628), but not for a client not registered for it.
        ({"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "x"}, "unauthorized_client"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "x"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
    ],
)
def test_token_endpoint_errors(tenant, make_client, endpoints, data, error):
    client = service(tenant, make_client, AuthMethod.CLIENT_SECRET_BASIC)
    answer = requests.post(endpoints["token"], auth=(client.client_id, client.secret), data=data, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error


def test_token_endpoint_rejects_get_and_garbage(tenant, make_client, endpoints):
    client = service(tenant, make_client, AuthMethod.CLIENT_SECRET_BASIC)
    assert requests.get(endpoints["token"], timeout=10).status_code == 405
    for body, content_type in [
        (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
        (b'{"grant_type": "client_credentials"}', "application/json"),
        (b"grant_type=client_credentials&" + b"x=1&" * 2000, "application/x-www-form-urlencoded"),
        (b"--x\r\n", "multipart/form-data; boundary=x"),
    ]:
        answer = requests.post(
            endpoints["token"],
            data=body,
            headers={"Content-Type": content_type},
            auth=(client.client_id, client.secret),
            timeout=10,
        )
        assert 400 <= answer.status_code < 500, (body[:20], answer.status_code, answer.text[:200])
    garbage_auth = requests.post(
        endpoints["token"],
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!notbase64"},
        timeout=10,
    )
    assert garbage_auth.status_code == 401


@pytest.fixture
def jwks_server(rsa_key, settings):
    """A real HTTP server publishing the client's public keys, as a jwks_uri would."""
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True  # it listens on 127.0.0.1 (SSRF policy)
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps({"keys": [rsa_key.as_dict(private=False)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


def test_private_key_jwt_with_jwks_uri(tenant, make_client, endpoints, rsa_key, jwks_server):
    client = service(tenant, make_client, AuthMethod.PRIVATE_KEY_JWT, jwks_uri=jwks_server)
    session = OAuth2Session(
        client.client_id,
        rsa_key.as_pem(private=True).decode(),
        token_endpoint_auth_method=PrivateKeyJWT(endpoints["token"], alg="RS256"),
    )
    token = session.fetch_token(endpoints["token"], grant_type="client_credentials")
    verify_jwt(token["access_token"], endpoints["jwks"], sub=client.client_id)


def test_rotated_secret_and_deleted_client_take_effect_at_once(tenant, make_client, endpoints):
    from oauth.services.clients import delete_client, rotate_client_secret

    client = service(tenant, make_client, AuthMethod.CLIENT_SECRET_BASIC)
    data = {"grant_type": "client_credentials"}
    assert (
        requests.post(endpoints["token"], auth=(client.client_id, client.secret), data=data, timeout=10).status_code
        == 200
    )
    new_secret = rotate_client_secret(client.client)
    assert (
        requests.post(endpoints["token"], auth=(client.client_id, client.secret), data=data, timeout=10).status_code
        == 401
    )
    assert (
        requests.post(endpoints["token"], auth=(client.client_id, new_secret), data=data, timeout=10).status_code == 200
    )
    delete_client(client.client)
    assert (
        requests.post(endpoints["token"], auth=(client.client_id, new_secret), data=data, timeout=10).status_code == 401
    )
