# ruff: noqa: F811 - the shared fixtures imported below are parameters of the tests
"""Who may decide on a CIBA request - the approval page and the approval API - tenant isolation, and
CIBA client metadata at registration (CIBA Core §4), over real HTTP."""

import pytest
import requests

from oauth.models import BackchannelAuthentication, Client, GrantType
from tests.browser import Browser

from .ciba_support import (  # noqa: F401 (fixtures)
    CIBA,
    approval_url_of,
    assert_error,
    authenticator_token,
    bc_endpoint,
    ciba_client,
    poll,
    start,
    started,
    waited,
)
from .conftest import verify_jwt
from .tokens import issue_tokens

pytestmark = pytest.mark.django_db(transaction=True)


# ---- who may decide -------------------------------------------------------------------------------
def test_only_the_user_asked_may_decide(tenant, alice, make_user, live_server, endpoints, bc_endpoint, ciba_client):
    make_user(tenant, "bob")
    started(bc_endpoint, ciba_client)
    url = approval_url_of(BackchannelAuthentication.objects.get(), live_server)
    as_bob = Browser(live_server.url)
    page = as_bob.go(url, username="bob", consent=None)
    assert page.status_code == 404 and "Request not found" in page.text and "Call centre" not in page.text
    csrf = as_bob.session.cookies["lumoauth_csrftoken"]
    forged = as_bob.session.post(
        url, data={"decision": "approve", "csrfmiddlewaretoken": csrf}, headers={"Referer": url}, timeout=10
    )
    assert forged.status_code == 404
    assert BackchannelAuthentication.objects.get().status == "pending"
    # Without a session: the sign-in page first.
    anonymous = requests.get(url, timeout=10, allow_redirects=False)
    assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]
    # The form is CSRF-protected.
    as_alice = Browser(live_server.url)
    as_alice.go(url, consent=None)
    assert (
        as_alice.session.post(url, data={"decision": "approve"}, headers={"Referer": url}, timeout=10).status_code
        == 403
    )
    assert BackchannelAuthentication.objects.get().status == "pending"


def test_the_approval_api(tenant, alice, live_server, endpoints, bc_endpoint, ciba_client, issuer):
    answer = started(bc_endpoint, ciba_client, binding_message="Order 1234")
    token = authenticator_token(tenant)
    api = f"{issuer}/ciba/requests"
    bearer = {"Authorization": f"Bearer {token}"}
    listed = requests.get(api, headers=bearer, timeout=10)
    assert listed.status_code == 200 and listed.headers["Cache-Control"] == "no-store"
    (pending,) = listed.json()["requests"]
    assert pending["binding_message"] == "Order 1234" and pending["status"] == "pending"
    assert pending["client"]["client_id"] == ciba_client.client_id
    bad = requests.post(f"{api}/{pending['id']}", json={"decision": "maybe"}, headers=bearer, timeout=10)
    assert bad.status_code == 400 and "decision" in bad.json()
    decided = requests.post(f"{api}/{pending['id']}", json={"decision": "approve"}, headers=bearer, timeout=10)
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    again = requests.post(f"{api}/{pending['id']}", json={"decision": "deny"}, headers=bearer, timeout=10)
    assert again.status_code == 400
    assert requests.get(api, headers=bearer, timeout=10).json() == {"requests": []}
    waited()
    token_answer = poll(endpoints, ciba_client, answer["auth_req_id"])
    assert token_answer.status_code == 200
    claims = verify_jwt(token_answer.json()["id_token"], endpoints["jwks"], sub=str(alice.sub)).claims
    assert claims["amr"] == ["user"]


def test_the_approval_api_refuses(tenant, alice, make_user, live_server, bc_endpoint, ciba_client, issuer):
    started(bc_endpoint, ciba_client)
    uid = BackchannelAuthentication.objects.get().uid
    api = f"{issuer}/ciba/requests"
    assert requests.get(api, timeout=10).status_code == 401
    assert requests.get(api, headers={"Authorization": "Bearer made-up"}, timeout=10).status_code == 401
    # A token without the scope.
    from .tokens import web_client

    app, secret = web_client(tenant, name="Ordinary app")
    plain = issue_tokens(tenant, app, secret, "alice", scope="openid")["access_token"]
    refused = requests.get(api, headers={"Authorization": f"Bearer {plain}"}, timeout=10)
    assert refused.status_code == 403 and 'scope="ciba:approve"' in refused.headers["WWW-Authenticate"]
    # Another user's token: the request is not theirs to see.
    make_user(tenant, "bob")
    bob = {"Authorization": f"Bearer {authenticator_token(tenant, 'bob')}"}
    assert requests.get(api, headers=bob, timeout=10).json() == {"requests": []}
    assert requests.post(f"{api}/{uid}", json={"decision": "approve"}, headers=bob, timeout=10).status_code == 404
    assert requests.post(f"{api}/not-a-uuid", json={"decision": "approve"}, headers=bob, timeout=10).status_code == 404
    assert BackchannelAuthentication.objects.get().status == "pending"


def test_privileged_scope_needs_the_client_to_list_it(tenant, alice):
    from oauth.scopes import allowed_for

    from .tokens import web_client

    app, _ = web_client(tenant)
    assert "ciba:approve" not in allowed_for(app) and "profile" in allowed_for(app)
    app.allowed_scopes = "openid ciba:approve"
    assert "ciba:approve" in allowed_for(app)


# ---- tenant isolation ---------------------------------------------------------------------------
def test_nothing_crosses_tenants(
    tenant, other_tenant, alice, make_user, live_server, endpoints, bc_endpoint, ciba_client, make_client
):
    make_user(other_tenant, "bob")
    other_bc = f"{live_server.url}/t/{other_tenant.slug}/api/v1/oauth/bc-authorize"
    # Tenant A's client is unknown at tenant B; B's user is unknown to A's client.
    assert_error(start(other_bc, ciba_client), "invalid_client", 401)
    assert_error(start(bc_endpoint, ciba_client, login_hint="bob"), "unknown_user_id")
    answer = started(bc_endpoint, ciba_client)
    authentication = BackchannelAuthentication.objects.get()
    # A's request is not found under B's URL, even for a user of B.
    foreign_url = f"{live_server.url}/t/{other_tenant.slug}/ciba/{authentication.uid}"
    page = Browser(live_server.url).go(foreign_url, username="bob", consent=None)
    assert page.status_code == 404
    # B's client cannot redeem A's auth_req_id at B's token endpoint.
    b_client = make_client(
        other_tenant, "B app", grant_types=[GrantType.CIBA], redirect_uris=[], backchannel_token_delivery_mode="poll"
    )
    other_token = f"{live_server.url}/t/{other_tenant.slug}/api/v1/oauth/token"
    stolen = requests.post(
        other_token,
        data={"grant_type": CIBA, "auth_req_id": answer["auth_req_id"]},
        auth=(b_client.client_id, b_client.secret),
        timeout=10,
    )
    assert_error(stolen, "invalid_grant")
    # B's approval API does not list A's request, even with a token of B's user.
    bob_token = authenticator_token(other_tenant, "bob")
    listed = requests.get(
        f"{live_server.url}/t/{other_tenant.slug}/api/v1/ciba/requests",
        headers={"Authorization": f"Bearer {bob_token}"},
        timeout=10,
    )
    assert listed.json() == {"requests": []}
    # And A's token is not valid at B.
    alice_token = authenticator_token(tenant)
    cross = requests.get(
        f"{live_server.url}/t/{other_tenant.slug}/api/v1/ciba/requests",
        headers={"Authorization": f"Bearer {alice_token}"},
        timeout=10,
    )
    assert cross.status_code == 401


# ---- registration and client metadata ------------------------------------------------------------
def test_clients_register_with_ciba_metadata(tenant, live_server, issuer):
    from oauth.services.registration import create_initial_access_token

    _, initial = create_initial_access_token(tenant, label="t")
    register = f"{issuer}/oauth/register"
    auth = {"Authorization": f"Bearer {initial}"}
    base = {"client_name": "Kiosk", "grant_types": [CIBA], "token_endpoint_auth_method": "client_secret_basic"}
    ping = {
        **base,
        "backchannel_token_delivery_mode": "ping",
        "backchannel_client_notification_endpoint": "https://kiosk.example.com/cb",
    }
    answer = requests.post(register, json=ping, headers=auth, timeout=10)
    assert answer.status_code == 201, answer.text
    assert answer.json()["backchannel_token_delivery_mode"] == "ping"
    client = Client.objects.get(client_id=answer.json()["client_id"])
    assert client.backchannel_client_notification_endpoint == "https://kiosk.example.com/cb"
    for bad in (
        base,  # §4: the delivery mode is required
        {**base, "backchannel_token_delivery_mode": "push"},  # push is not offered
        {**base, "backchannel_token_delivery_mode": "ping"},  # ping needs the endpoint
        {**ping, "backchannel_client_notification_endpoint": "http://kiosk.example.com/cb"},  # https only
        {**base, "backchannel_token_delivery_mode": "poll", "token_endpoint_auth_method": "none"},  # public
    ):
        refused = requests.post(register, json=bad, headers=auth, timeout=10)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata", (bad, refused.text)
