"""Shared by the CIBA tests: the endpoint fixtures, a CIBA client, and the calls a client makes."""

import pytest
import requests

from oauth.models import BackchannelAuthentication, GrantType
from tests.browser import Browser

from .tokens import issue_tokens

CIBA = "urn:openid:params:grant-type:ciba"


@pytest.fixture
def bc_endpoint(issuer):
    return f"{issuer}/oauth/bc-authorize"


@pytest.fixture
def ciba_client(tenant, make_client):
    return make_client(
        tenant,
        "Call centre",
        grant_types=[GrantType.CIBA],
        redirect_uris=[],
        allowed_scopes="openid profile email",
        backchannel_token_delivery_mode="poll",
    )


def ping_client(tenant, make_client, url):
    return make_client(
        tenant,
        "Point of sale",
        grant_types=[GrantType.CIBA, GrantType.REFRESH_TOKEN],
        redirect_uris=[],
        allowed_scopes="openid profile offline_access",
        backchannel_token_delivery_mode="ping",
        backchannel_client_notification_endpoint=url,
    )


def start(bc_endpoint, client, **data):
    data = {"scope": "openid profile", "login_hint": "alice", **data}
    return requests.post(bc_endpoint, data=data, auth=(client.client_id, client.secret), timeout=10)


def started(bc_endpoint, client, **data) -> dict:
    answer = start(bc_endpoint, client, **data)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.json()


def poll(endpoints, client, auth_req_id):
    data = {"grant_type": CIBA, "auth_req_id": auth_req_id}
    return requests.post(endpoints["token"], data=data, auth=(client.client_id, client.secret), timeout=10)


def assert_error(answer, error, status=400):
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.json()["error"] == error, answer.text
    assert answer.headers["Cache-Control"] == "no-store"


def waited(auth_req_id=None):
    """As if the client had waited its interval since its last poll."""
    BackchannelAuthentication.objects.update(last_polled_at=None)


def open_approval(live_server, decision=None, username="alice"):
    """The latest request's approval page through the hosted sign-in; with a decision, answered."""
    url = approval_url_of(BackchannelAuthentication.objects.order_by("-pk").first(), live_server)
    return Browser(live_server.url).go(url, username=username, consent=decision)


def approval_url_of(authentication, live_server) -> str:
    return f"{live_server.url}/t/{authentication.tenant.slug}/ciba/{authentication.uid}"


def succeeded(name, args, retval):
    return name == "lumoauth.webhooks.deliver" and retval == "succeeded"


def delivered(worker, count: int) -> None:
    """Wait until the worker has finished `count` deliveries (and its writes: SQLite in-memory
    test databases lock whole tables while another thread writes)."""
    with worker.tasks.changed:
        done = lambda: sum(1 for entry in worker.tasks.done if succeeded(*entry)) >= count  # noqa: E731
        assert worker.tasks.changed.wait_for(done, 30), worker.tasks.done


def authenticator_token(tenant, username="alice", scope="openid ciba:approve") -> str:
    from .tokens import web_client

    app, secret = web_client(tenant, name="Authenticator")
    app.allowed_scopes = "openid ciba:approve"
    app.save()
    return issue_tokens(tenant, app, secret, username, scope=scope)["access_token"]
