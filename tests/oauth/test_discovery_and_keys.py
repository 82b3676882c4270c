"""Discovery (OIDC Discovery §3, RFC 8414), JWKS, and key rotation keeping old tokens verifiable."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache
from django.core.management import call_command

from .conftest import verify_jwt

pytestmark = pytest.mark.django_db(transaction=True)


def test_discovery_lists_what_is_implemented(endpoints, issuer, live_server):
    answer = requests.get(endpoints["discovery"], timeout=10)
    assert answer.status_code == 200 and "max-age" in answer.headers["Cache-Control"]
    document = answer.json()
    assert document["issuer"] == issuer
    for name in ("authorization", "token", "userinfo", "introspect", "revoke"):
        assert (
            document[
                {
                    "authorization": "authorization_endpoint",
                    "token": "token_endpoint",
                    "userinfo": "userinfo_endpoint",
                    "introspect": "introspection_endpoint",
                    "revoke": "revocation_endpoint",
                }[name]
            ]
            == endpoints["authorize" if name == "authorization" else name]
        )
    assert document["jwks_uri"] == endpoints["jwks"]
    assert document["registration_endpoint"] == f"{issuer}/oauth/register"
    assert document["end_session_endpoint"] == f"{issuer}/oauth/logout"
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert set(document["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:openid:params:grant-type:ciba",
    }
    assert document["pushed_authorization_request_endpoint"] == f"{issuer}/oauth/par"
    assert document["device_authorization_endpoint"] == f"{issuer}/oauth/device_authorization"
    assert document["backchannel_authentication_endpoint"] == f"{issuer}/oauth/bc-authorize"
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        document["token_endpoint_auth_methods_supported"]
    )
    assert document["authorization_response_iss_parameter_supported"] is True
    # Not implemented yet, so not advertised.
    for absent in (
        "dpop_signing_alg_values_supported",
        "backchannel_authentication_request_signing_alg_values_supported",
    ):
        assert absent not in document
    # RFC 8414 §3.1: path-inserted well-known URL, same issuer.
    rfc8414 = requests.get(f"{live_server.url}/.well-known/oauth-authorization-server/t/acme/api/v1", timeout=10)
    assert rfc8414.status_code == 200 and rfc8414.json()["issuer"] == issuer
    # Authlib reads it as a client would.
    discovered = OAuth2Session("x").get(endpoints["discovery"], withhold_token=True).json()
    assert discovered["token_endpoint"] == endpoints["token"]


def test_alias_prefix_serves_the_same_issuer(live_server, issuer):
    document = requests.get(f"{live_server.url}/orgs/acme/api/v1/.well-known/openid-configuration", timeout=10)
    assert document.json()["issuer"] == issuer


def test_unknown_tenant_discovery_is_json_404(live_server):
    for path in (
        "/t/nope/api/v1/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/t/nope/api/v1",
    ):
        answer = requests.get(live_server.url + path, timeout=10)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"


def test_jwks_has_public_members_only(endpoints):
    answer = requests.get(endpoints["jwks"], timeout=10)
    assert "max-age" in answer.headers["Cache-Control"]
    keys = answer.json()["keys"]
    assert len(keys) == 2  # active and next
    for key in keys:
        assert key["kid"] and key["use"] == "sig" and key["alg"] == "RS256"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_rotation_keeps_old_tokens_verifiable(tenant, service_client, endpoints):
    session = OAuth2Session(service_client.client_id, service_client.secret)
    before = session.fetch_token(endpoints["token"], grant_type="client_credentials")["access_token"]
    old_kid = verify_jwt(before, endpoints["jwks"]).header["kid"]
    call_command("rotatekeys", tenant.slug)
    cache.clear()  # the JWKS response is cached for 30 s; a relying party would refetch on an unknown kid
    after = session.fetch_token(endpoints["token"], grant_type="client_credentials")["access_token"]
    new_kid = verify_jwt(after, endpoints["jwks"]).header["kid"]
    assert new_kid != old_kid
    verify_jwt(before, endpoints["jwks"])  # the retiring key is still published
    kids = [k["kid"] for k in requests.get(endpoints["jwks"], timeout=10).json()["keys"]]
    assert old_kid in kids and new_kid in kids and len(kids) == 3  # active, next, retiring
