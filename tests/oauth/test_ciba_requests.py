# ruff: noqa: F811 - the shared fixtures imported below are parameters of the tests
"""CIBA's backchannel authentication endpoint (CIBA Core §7, §13) over real HTTP: every error of the
request, and the three hints that name the user."""

import json
import time

import pytest
import requests
from jwcrypto import jwk, jwt

from lumoauth.events.models import AuditEvent
from oauth.models import AuthMethod, BackchannelAuthentication, GrantType
from tests.webhooks.conftest import (  # noqa: F401 (the real receiver, redis-server and Celery worker)
    receiver,
)

from .ciba_support import (  # noqa: F401 (fixtures)
    CIBA,
    assert_error,
    bc_endpoint,
    ciba_client,
    open_approval,
    ping_client,
    poll,
    start,
    started,
    waited,
)
from .tokens import issue_tokens

pytestmark = pytest.mark.django_db(transaction=True)


# ---- the backchannel authentication endpoint's errors (CIBA Core §13) --------------------------------
@pytest.mark.parametrize(
    "change,error,status",
    [
        ({"scope": "profile"}, "invalid_request", 400),  # §7.1: openid is required
        ({"scope": "openid admin"}, "invalid_scope", 400),
        ({"login_hint": ""}, "invalid_request", 400),  # no hint
        ({"id_token_hint": "x.y.z"}, "invalid_request", 400),  # two hints
        ({"login_hint": "nobody"}, "unknown_user_id", 400),
        ({"login_hint": "mallory"}, "unknown_user_id", 400),  # deactivated
        ({"binding_message": "x" * 65}, "invalid_binding_message", 400),
        ({"binding_message": "line\nbreak"}, "invalid_binding_message", 400),
        ({"requested_expiry": "soon"}, "invalid_request", 400),
        ({"requested_expiry": "0"}, "invalid_request", 400),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "invalid_request", 400),
    ],
)
def test_backchannel_request_errors(tenant, alice, make_user, bc_endpoint, ciba_client, change, error, status):
    mallory = make_user(tenant, "mallory")
    mallory.is_active = False
    mallory.save()
    assert_error(start(bc_endpoint, ciba_client, **change), error, status)
    assert not BackchannelAuthentication.objects.exists()
    failed = AuditEvent.objects.get(action="oauth.ciba.request_failed")
    assert failed.outcome == "failure" and failed.details["error"] == error


def test_backchannel_client_errors(tenant, alice, bc_endpoint, ciba_client, make_client, receiver):  # noqa: F811
    wrong = requests.post(
        bc_endpoint, data={"scope": "openid", "login_hint": "alice"}, auth=(ciba_client.client_id, "x"), timeout=10
    )
    assert_error(wrong, "invalid_client", 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    anonymous = requests.post(
        bc_endpoint, data={"scope": "openid", "login_hint": "alice", "client_id": ciba_client.client_id}, timeout=10
    )
    assert_error(anonymous, "invalid_client", 401)
    web = make_client(tenant, "Web", grant_types=[GrantType.AUTHORIZATION_CODE])
    assert_error(start(bc_endpoint, web), "unauthorized_client")
    json_body = requests.post(
        bc_endpoint,
        json={"scope": "openid", "login_hint": "alice"},
        auth=(ciba_client.client_id, ciba_client.secret),
        timeout=10,
    )
    assert_error(json_body, "invalid_request")
    duplicate = requests.post(
        bc_endpoint,
        data=[("scope", "openid"), ("login_hint", "alice"), ("login_hint", "bob")],
        auth=(ciba_client.client_id, ciba_client.secret),
        timeout=10,
    )
    assert_error(duplicate, "invalid_request")
    pinger = ping_client(tenant, make_client, f"{receiver.url}/cb")
    assert_error(start(bc_endpoint, pinger), "invalid_request")  # §7.1: client_notification_token required
    assert_error(start(bc_endpoint, pinger, client_notification_token="not a token"), "invalid_request")
    assert requests.get(bc_endpoint, timeout=10).status_code == 405


# ---- the hints ----------------------------------------------------------------------------------
def test_id_token_hint_names_the_user(
    tenant, alice, live_server, endpoints, bc_endpoint, ciba_client, other_tenant, make_user
):
    # An ID token from this tenant's token endpoint: from a first CIBA sign-in.
    first = started(bc_endpoint, ciba_client)
    open_approval(live_server, "approve")
    waited()
    id_token = poll(endpoints, ciba_client, first["auth_req_id"]).json()["id_token"]
    started(bc_endpoint, ciba_client, login_hint="", id_token_hint=id_token)
    assert BackchannelAuthentication.objects.order_by("-pk").first().user == alice
    # An ID token of another tenant (another issuer, other keys) is not a hint here.
    from .tokens import web_client

    make_user(other_tenant, "alice")
    foreign_app, foreign_secret = web_client(other_tenant)
    foreign = issue_tokens(other_tenant, foreign_app, foreign_secret, "alice", scope="openid")["id_token"]
    assert_error(start(bc_endpoint, ciba_client, login_hint="", id_token_hint=foreign), "invalid_request")
    assert_error(start(bc_endpoint, ciba_client, login_hint="", id_token_hint="not.a.jwt"), "invalid_request")


def _signed(key, claims):
    token = jwt.JWT(header={"alg": "ES256", "kid": "hint-key"}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def test_login_hint_token_signed_by_the_client(tenant, alice, bc_endpoint, make_client):
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="hint-key")
    client = make_client(
        tenant,
        "Bank app",
        grant_types=[GrantType.CIBA],
        redirect_uris=[],
        token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        jwks={"keys": [json.loads(key.export_public())]},
        backchannel_token_delivery_mode="poll",
    )
    now = int(time.time())
    email = _signed(key, {"sub_id": {"format": "email", "email": "ALICE@acme.example"}, "exp": now + 60})
    started(bc_endpoint, client, login_hint="", login_hint_token=email)
    opaque = _signed(key, {"sub_id": {"format": "opaque", "id": str(alice.sub)}, "exp": now + 60})
    started(bc_endpoint, client, login_hint="", login_hint_token=opaque)
    assert [a.user_id for a in BackchannelAuthentication.objects.all()] == [alice.pk, alice.pk]

    expired = _signed(key, {"sub_id": {"format": "email", "email": "alice@acme.example"}, "exp": now - 5})
    assert_error(start(bc_endpoint, client, login_hint="", login_hint_token=expired), "expired_login_hint_token")
    stranger = jwk.JWK.generate(kty="EC", crv="P-256", kid="hint-key")
    forged = _signed(stranger, {"sub_id": {"format": "email", "email": "alice@acme.example"}, "exp": now + 60})
    assert_error(start(bc_endpoint, client, login_hint="", login_hint_token=forged), "invalid_request")
    nobody = _signed(key, {"sub_id": {"format": "email", "email": "nobody@acme.example"}, "exp": now + 60})
    assert_error(start(bc_endpoint, client, login_hint="", login_hint_token=nobody), "unknown_user_id")
    no_subject = _signed(key, {"sub": "alice", "exp": now + 60})
    assert_error(start(bc_endpoint, client, login_hint="", login_hint_token=no_subject), "invalid_request")
