"""RFC 7662 introspection and RFC 7009 revocation, for JWT and opaque tokens, through Authlib."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from oauth.models import AuthMethod, GrantType, TokenFormat
from oauth.services.scopes import define_api_scope
from tenants.services.users import set_active

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def resource_server(tenant, make_client):
    """A confidential client that introspects tokens on behalf of an API."""
    return make_client(
        tenant,
        "API",
        grant_types=[GrantType.CLIENT_CREDENTIALS],
        redirect_uris=[],
        token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_POST,
    )


def introspect(endpoints, rs, token, **extra):
    session = OAuth2Session(rs.client_id, rs.secret, token_endpoint_auth_method="client_secret_post")
    return session.introspect_token(endpoints["introspect"], token=token, **extra)


@pytest.mark.parametrize("fmt", [TokenFormat.JWT, TokenFormat.OPAQUE])
def test_introspect_then_revoke(tenant, make_client, endpoints, issuer, resource_server, fmt):
    define_api_scope(tenant, "reports:read", "Read your reports")
    app = make_client(
        tenant,
        "app",
        grant_types=[GrantType.CLIENT_CREDENTIALS],
        redirect_uris=[],
        token_format=fmt,
        allowed_scopes="reports:read",
    )
    session = OAuth2Session(app.client_id, app.secret)
    token = session.fetch_token(endpoints["token"], grant_type="client_credentials", scope="reports:read")
    answer = introspect(endpoints, resource_server, token["access_token"])
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    claims = answer.json()
    assert claims["active"] is True and claims["client_id"] == app.client_id
    assert claims["scope"] == "reports:read" and claims["iss"] == issuer and claims["token_type"] == "Bearer"
    assert claims["exp"] > claims["iat"]
    revoked = session.revoke_token(endpoints["revoke"], token=token["access_token"])
    assert revoked.status_code == 200
    assert introspect(endpoints, resource_server, token["access_token"]).json() == {"active": False}


def test_revoking_refresh_token_revokes_its_access_token(browser, endpoints, web_client, resource_server, alice):
    from .test_authorization_code import run_flow

    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client)
    token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    refresh_claims = introspect(endpoints, resource_server, token["refresh_token"]).json()
    assert refresh_claims["active"] is True and refresh_claims["username"] == "alice"
    assert (
        session.revoke_token(
            endpoints["revoke"], token=token["refresh_token"], token_type_hint="refresh_token"
        ).status_code
        == 200
    )
    assert introspect(endpoints, resource_server, token["refresh_token"]).json() == {"active": False}
    assert introspect(endpoints, resource_server, token["access_token"]).json() == {"active": False}
    refreshed = requests.post(
        endpoints["token"],
        auth=(web_client.client_id, web_client.secret),
        timeout=10,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert refreshed.status_code == 400


def test_deactivated_users_tokens_stop_working(browser, endpoints, web_client, resource_server, alice):
    from .test_authorization_code import run_flow

    session, verifier, _n, response, _p = run_flow(browser, endpoints, web_client)
    token = session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )
    set_active(alice, False)
    assert introspect(endpoints, resource_server, token["access_token"]).json() == {"active": False}
    assert (
        requests.get(
            endpoints["userinfo"], headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
        ).status_code
        == 401
    )


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 10000])
def test_unknown_and_malformed_tokens_are_inactive(endpoints, resource_server, token):
    answer = requests.post(
        endpoints["introspect"],
        timeout=10,
        data={
            "token": token or "nothing",
            "client_id": resource_server.client_id,
            "client_secret": resource_server.secret,
        },
    )
    assert answer.status_code == 200 and answer.json() == {"active": False}


def test_nul_in_a_token_is_an_invalid_request(endpoints, resource_server):
    answer = requests.post(
        endpoints["introspect"],
        timeout=10,
        data={"token": "a\x00b", "client_id": resource_server.client_id, "client_secret": resource_server.secret},
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_introspection_requires_an_authenticated_client(endpoints, spa_client, resource_server):
    anonymous = requests.post(endpoints["introspect"], data={"token": "x"}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    public = requests.post(endpoints["introspect"], data={"token": "x", "client_id": spa_client.client_id}, timeout=10)
    assert public.status_code == 401
    wrong = requests.post(
        endpoints["introspect"], data={"token": "x"}, auth=(resource_server.client_id, "nope"), timeout=10
    )
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic ")


def test_a_client_cannot_revoke_another_clients_token(tenant, make_client, endpoints, resource_server):
    app = make_client(tenant, "app", grant_types=[GrantType.CLIENT_CREDENTIALS], redirect_uris=[])
    token = OAuth2Session(app.client_id, app.secret).fetch_token(endpoints["token"], grant_type="client_credentials")
    other = OAuth2Session(
        resource_server.client_id,
        resource_server.secret,
        token_endpoint_auth_method="client_secret_post",
        revocation_endpoint_auth_method="client_secret_post",
    )
    assert other.revoke_token(endpoints["revoke"], token=token["access_token"]).status_code == 200
    assert introspect(endpoints, resource_server, token["access_token"]).json()["active"] is True


def test_endpoint_calls_are_audited(tenant, make_client, endpoints, resource_server):
    from lumoauth.events.models import AuditEvent

    app = make_client(tenant, "app", grant_types=[GrantType.CLIENT_CREDENTIALS], redirect_uris=[])
    token = OAuth2Session(app.client_id, app.secret).fetch_token(endpoints["token"], grant_type="client_credentials")
    requests.post(
        endpoints["token"], auth=(app.client_id, "wrong"), data={"grant_type": "client_credentials"}, timeout=10
    )
    introspect(endpoints, resource_server, token["access_token"])
    requests.get(endpoints["userinfo"], headers={"Authorization": "Bearer nope"}, timeout=10)
    events = {e.action: e for e in AuditEvent.objects.filter(tenant=tenant)}
    assert events["oauth.token.issued"].target_id == app.client_id
    failed = events["oauth.token.failed"]
    assert failed.outcome == "failure" and failed.actor_id == app.client_id
    assert failed.details["error"] == "invalid_client"
    assert events["oauth.token.introspected"].actor_id == resource_server.client_id
    assert events["oauth.token.introspected"].details == {"active": True}
    assert events["oauth.userinfo.failed"].details["status"] == 401
