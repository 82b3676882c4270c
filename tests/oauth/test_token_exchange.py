# ruff: noqa: F811 - the shared fixtures imported below are parameters of the tests
"""Token exchange (RFC 8693) over real HTTP: Authlib obtains the user's tokens through the hosted
sign-in and consent pages, requests (a third-party HTTP client) exchanges them, joserfc verifies
every issued JWT against the published JWKS - including the nested `act` claims of delegation
chains of two and three agents. External issuers sign with joserfc keys; SAML assertions come from
a real pysaml2 IdP."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from lumoauth.events.models import AuditEvent
from oauth.models import AccessToken, Client, GrantType, TokenExchangePolicy
from oauth.services.clients import ClientSpec

from .conftest import REDIRECT_URI, verify_jwt
from .exchange_support import (  # noqa: F401 (fixtures, and api_scopes, which make_agent uses)
    ACCESS,
    CALENDAR,
    EXCHANGE,
    ID_TOKEN,
    JWT,
    MAIL,
    REFRESH,
    api_scopes,
    assert_error,
    exchange,
    make_agent,
    own_token,
    user_tokens,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_discovery_lists_token_exchange(endpoints):
    document = requests.get(endpoints["discovery"], timeout=10).json()
    assert EXCHANGE in document["grant_types_supported"]


def test_delegation_chains_of_two_and_three_agents(endpoints, issuer, web_client, user_tokens, alice, make_agent):
    planner = make_agent("Planner agent", audiences=(CALENDAR, MAIL))
    scheduler = make_agent("Scheduler agent")
    notifier = make_agent("Notifier agent")

    # 1. The planner acts for Alice: act = {sub: planner}.
    first = exchange(
        endpoints,
        planner,
        user_tokens["access_token"],
        actor_token=own_token(endpoints, planner),
        actor_token_type=ACCESS,
        audience=CALENDAR,
        scope="calendar.read calendar.write",
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["issued_token_type"] == ACCESS and body["token_type"] == "Bearer"
    assert "refresh_token" not in body and body["scope"] == "calendar.read calendar.write"
    claims = verify_jwt(body["access_token"], endpoints["jwks"], iss=issuer, sub=str(alice.sub), aud=CALENDAR).claims
    assert claims["act"] == {"sub": planner.client_id}
    assert claims["client_id"] == planner.client_id

    # 2. The scheduler acts for Alice through the planner: the chain of two is nested.
    second = exchange(
        endpoints,
        scheduler,
        body["access_token"],
        actor_token=own_token(endpoints, scheduler),
        actor_token_type=ACCESS,
        scope="calendar.read",
    )
    assert second.status_code == 200, second.text
    claims = verify_jwt(second.json()["access_token"], endpoints["jwks"], sub=str(alice.sub)).claims
    assert claims["act"] == {"sub": scheduler.client_id, "act": {"sub": planner.client_id}}
    assert claims["scope"] == "calendar.read"

    # Down-scoping: the next hop cannot get back what the previous one gave up.
    widened = exchange(
        endpoints,
        notifier,
        second.json()["access_token"],
        actor_token=own_token(endpoints, notifier),
        actor_token_type=ACCESS,
        scope="calendar.read calendar.write",
    )
    assert_error(widened, "invalid_scope")

    # 3. The notifier, third in the chain.
    third = exchange(
        endpoints,
        notifier,
        second.json()["access_token"],
        actor_token=own_token(endpoints, notifier),
        actor_token_type=ACCESS,
    )
    assert third.status_code == 200, third.text
    claims = verify_jwt(third.json()["access_token"], endpoints["jwks"], sub=str(alice.sub)).claims
    assert claims["act"] == {
        "sub": notifier.client_id,
        "act": {"sub": scheduler.client_id, "act": {"sub": planner.client_id}},
    }
    assert claims["scope"] == "calendar.read"  # without a scope parameter: what the subject token had

    # Introspection shows the chain too (RFC 8693 §2.3).
    info = requests.post(
        endpoints["introspect"],
        data={"token": third.json()["access_token"]},
        auth=(web_client.client_id, web_client.secret),
        timeout=10,
    ).json()
    assert info["active"] is True and info["sub"] == str(alice.sub) and info["act"] == claims["act"]

    # Every exchange is audited with its whole chain.
    events = list(AuditEvent.objects.filter(action="oauth.token.exchanged").order_by("id"))
    assert [e.details["chain"] for e in events] == [
        [planner.client_id],
        [scheduler.client_id, planner.client_id],
        [notifier.client_id, scheduler.client_id, planner.client_id],
    ]
    assert events[0].details["audience"] == [CALENDAR] and events[0].details["mode"] == "delegation"
    assert events[0].details["subject"]["sub"] == str(alice.sub) and events[0].actor_id == planner.client_id
    assert events[2].details["actor"]["sub"] == notifier.client_id


def test_impersonation_only_where_the_policy_allows(endpoints, user_tokens, alice, make_agent):
    delegate_only = make_agent("Delegate only")
    answer = exchange(endpoints, delegate_only, user_tokens["access_token"], scope="calendar.read")
    assert_error(answer, "invalid_request")
    assert "actor_token" in answer.json()["error_description"]

    impersonator = make_agent("Support console", policy=TokenExchangePolicy.IMPERSONATION)
    answer = exchange(endpoints, impersonator, user_tokens["access_token"], scope="calendar.read")
    assert answer.status_code == 200, answer.text
    claims = verify_jwt(answer.json()["access_token"], endpoints["jwks"], sub=str(alice.sub)).claims
    assert "act" not in claims and claims["aud"] != CALENDAR
    event = AuditEvent.objects.get(action="oauth.token.exchanged")
    assert event.details["mode"] == "impersonation" and event.details["chain"] == []


def test_clients_without_the_grant_or_policy_are_unauthorized(endpoints, user_tokens, web_client, service_client):
    assert_error(exchange(endpoints, web_client, user_tokens["access_token"]), "unauthorized_client")
    assert_error(exchange(endpoints, service_client, user_tokens["access_token"]), "unauthorized_client")


def test_requested_token_types_jwt_and_id_token(endpoints, issuer, user_tokens, alice, make_agent):
    agent = make_agent("Bridge", policy=TokenExchangePolicy.IMPERSONATION, audiences=(MAIL,))
    as_jwt = exchange(
        endpoints, agent, user_tokens["access_token"], requested_token_type=JWT, audience=MAIL, scope="email"
    )
    assert as_jwt.status_code == 200, as_jwt.text
    body = as_jwt.json()
    assert body["issued_token_type"] == JWT and body["token_type"] == "N_A"  # RFC 8693 §2.2.1
    decoded = verify_jwt(body["access_token"], endpoints["jwks"], iss=issuer, aud=MAIL, sub=str(alice.sub))
    assert decoded.claims["scope"] == "email" and decoded.header["typ"] == "JWT"

    as_id_token = exchange(
        endpoints, agent, user_tokens["access_token"], requested_token_type=ID_TOKEN, scope="openid email"
    )
    assert as_id_token.status_code == 200, as_id_token.text
    body = as_id_token.json()
    assert body["issued_token_type"] == ID_TOKEN and body["token_type"] == "N_A"
    verify_jwt(
        body["access_token"], endpoints["jwks"], iss=issuer, aud=agent.client_id, sub=str(alice.sub), email=alice.email
    )
    refused = exchange(endpoints, agent, user_tokens["access_token"], requested_token_type=REFRESH)
    assert_error(refused, "invalid_request")


def test_refresh_and_id_tokens_as_subject(endpoints, issuer, web_client, user_tokens, alice, make_agent):
    # The web app itself exchanges its refresh token (refresh tokens are bound to their client).
    spec = ClientSpec(
        name="Web app",
        grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN, GrantType.TOKEN_EXCHANGE],
        redirect_uris=[REDIRECT_URI],
        token_exchange_policy=TokenExchangePolicy.IMPERSONATION,
        token_exchange_audiences=[CALENDAR],
    )
    from oauth.services.clients import update_client

    update_client(Client.objects.get(pk=web_client.client.pk), spec)
    answer = exchange(endpoints, web_client, user_tokens["refresh_token"], REFRESH, audience=CALENDAR)
    assert answer.status_code == 200, answer.text
    claims = verify_jwt(answer.json()["access_token"], endpoints["jwks"], sub=str(alice.sub), aud=CALENDAR).claims
    assert set(claims["scope"].split()) == {"openid", "email", "calendar.read", "calendar.write", "offline_access"}
    # Another client cannot use it.
    agent = make_agent("Agent", policy=TokenExchangePolicy.IMPERSONATION)
    assert_error(exchange(endpoints, agent, user_tokens["refresh_token"], REFRESH), "invalid_request")

    # ID tokens: only the client they were issued to; at most the identity scopes they carried.
    answer = exchange(endpoints, web_client, user_tokens["id_token"], ID_TOKEN)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["scope"].split()) == {"openid", "email"}
    assert_error(
        exchange(endpoints, web_client, user_tokens["id_token"], ID_TOKEN, scope="calendar.read"), "invalid_scope"
    )
    assert_error(exchange(endpoints, agent, user_tokens["id_token"], ID_TOKEN), "invalid_request")
    # A JWT access token of this tenant, presented as a plain JWT.
    answer = exchange(endpoints, agent, user_tokens["access_token"], JWT, scope="calendar.read")
    assert answer.status_code == 200, answer.text


def test_issued_token_never_outlives_its_subject(endpoints, user_tokens, make_agent):
    AccessToken.objects.update(expires=timezone.now() + timedelta(seconds=100))
    agent = make_agent("Short", policy=TokenExchangePolicy.IMPERSONATION)
    answer = exchange(endpoints, agent, user_tokens["access_token"])
    assert answer.status_code == 200 and 0 < answer.json()["expires_in"] <= 100
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert_error(exchange(endpoints, agent, user_tokens["access_token"]), "invalid_request")


@pytest.mark.parametrize(
    "params,error",
    [
        ({"subject_token": ""}, "invalid_request"),
        ({"subject_token_type": ""}, "invalid_request"),
        ({"subject_token_type": "urn:example:unknown"}, "invalid_request"),
        ({"subject_token": "not-a-token"}, "invalid_request"),
        ({"actor_token_type": ACCESS}, "invalid_request"),  # §2.1: not without actor_token
        ({"actor_token": "x"}, "invalid_request"),  # actor_token_type required with it
        ({"actor_token": "not-a-token", "actor_token_type": ACCESS}, "invalid_request"),
        ({"actor_token": "x", "actor_token_type": REFRESH}, "invalid_request"),
        ({"audience": MAIL}, "invalid_target"),
        ({"resource": "calendar"}, "invalid_target"),  # RFC 8707: absolute URI
        ({"resource": CALENDAR + "#frag"}, "invalid_target"),
        ({"requested_token_type": "urn:ietf:params:oauth:token-type:saml1"}, "invalid_request"),
        ({"scope": "calendar.read phone"}, "invalid_scope"),
    ],
)
def test_exchange_errors(endpoints, user_tokens, make_agent, params, error):
    agent = make_agent("Agent", policy=TokenExchangePolicy.IMPERSONATION)
    data = {"subject_token": user_tokens["access_token"], "subject_token_type": ACCESS, **params}
    subject_token, subject_type = data.pop("subject_token"), data.pop("subject_token_type")
    answer = exchange(endpoints, agent, subject_token, subject_type, **data)
    assert_error(answer, error)
    assert AuditEvent.objects.filter(action="oauth.token.failed", details__error=error).exists()
    assert not AuditEvent.objects.filter(action="oauth.token.exchanged").exists()


def test_exchange_refuses_bad_clients_and_duplicates(endpoints, user_tokens, make_agent):
    agent = make_agent("Agent", policy=TokenExchangePolicy.IMPERSONATION)
    assert_error(exchange(endpoints, agent, user_tokens["access_token"], secret="wrong"), "invalid_client", 401)
    twice = requests.post(
        endpoints["token"],
        data=[
            ("grant_type", EXCHANGE),
            ("subject_token", user_tokens["access_token"]),
            ("subject_token", "another"),
            ("subject_token_type", ACCESS),
        ],
        auth=(agent.client_id, agent.secret),
        timeout=10,
    )
    assert_error(twice, "invalid_request")


def test_resource_and_several_audiences(endpoints, user_tokens, make_agent):
    agent = make_agent("Multi", policy=TokenExchangePolicy.IMPERSONATION, audiences=(CALENDAR, MAIL))
    answer = requests.post(
        endpoints["token"],
        data=[
            ("grant_type", EXCHANGE),
            ("subject_token", user_tokens["access_token"]),
            ("subject_token_type", ACCESS),
            ("audience", CALENDAR),
            ("resource", MAIL),
        ],
        auth=(agent.client_id, agent.secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert verify_jwt(answer.json()["access_token"], endpoints["jwks"]).claims["aud"] == [CALENDAR, MAIL]
