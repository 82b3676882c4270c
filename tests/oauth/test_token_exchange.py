"""Token exchange (RFC 8693) over real HTTP: Authlib obtains the user's tokens through the hosted
sign-in and consent pages, requests (a third-party HTTP client) exchanges them, joserfc verifies
every issued JWT against the published JWKS - including the nested `act` claims of delegation
chains of two and three agents. External issuers sign with joserfc keys; SAML assertions come from
a real pysaml2 IdP."""

import base64
import time
from datetime import timedelta

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import RSAKey
from saml2 import samlp
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.sigver import pre_signature_part, read_cert_from_file

from lumoauth.events.models import AuditEvent
from oauth.models import AccessToken, Client, GrantType, SubjectMatch, TokenExchangePolicy
from oauth.services.clients import ClientSpec, create_client
from oauth.services.scopes import define_api_scope
from oauth.services.trusted_issuers import TrustedIssuerSpec, create_trusted_issuer
from tenants.models import FederatedIdentity
from tests.saml.conftest import corp  # noqa: F401 (a pysaml2 corporate IdP and the tenant's connection to it)

from .conftest import REDIRECT_URI, verify_jwt
from .test_authorization_code import run_flow

pytestmark = pytest.mark.django_db(transaction=True)

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
REFRESH = "urn:ietf:params:oauth:token-type:refresh_token"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
JWT = "urn:ietf:params:oauth:token-type:jwt"
SAML2 = "urn:ietf:params:oauth:token-type:saml2"
CALENDAR = "https://calendar.example.com"
MAIL = "https://mail.example.com"
AGENTS = "https://agents.example.net"


@pytest.fixture
def api_scopes(tenant):
    define_api_scope(tenant, "calendar.read", "Read your calendar")
    define_api_scope(tenant, "calendar.write", "Change your calendar")


@pytest.fixture
def make_agent(tenant, api_scopes):
    """A confidential client (an AI agent or a service) allowed to exchange tokens; it can also get
    its own token with client_credentials, to show as the actor."""

    def make(name, policy=TokenExchangePolicy.DELEGATION, audiences=(CALENDAR,), target=None):
        client, secret = create_client(
            target or tenant,
            ClientSpec(
                name=name,
                grant_types=[GrantType.CLIENT_CREDENTIALS, GrantType.TOKEN_EXCHANGE],
                token_exchange_policy=policy,
                token_exchange_audiences=list(audiences),
            ),
        )
        client.secret = secret
        return client

    return make


@pytest.fixture
def user_tokens(browser, endpoints, web_client, alice, api_scopes):
    """Alice's tokens at the web app (authorization code + PKCE through the real pages)."""
    session, verifier, _nonce, response, _params = run_flow(
        browser, endpoints, web_client, scope="openid email calendar.read calendar.write offline_access"
    )
    return session.fetch_token(
        endpoints["token"], authorization_response=response.headers["Location"], code_verifier=verifier
    )


def own_token(endpoints, agent) -> str:
    """The agent's own access token (client credentials): its identity as an actor."""
    session = OAuth2Session(agent.client_id, agent.secret)
    return session.fetch_token(endpoints["token"], grant_type="client_credentials")["access_token"]


def exchange(endpoints, client, subject_token, subject_token_type=ACCESS, secret=None, **params):
    data = {
        "grant_type": EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": subject_token_type,
        **params,
    }
    return requests.post(endpoints["token"], data=data, auth=(client.client_id, secret or client.secret), timeout=10)


def assert_error(answer, error, status=400):
    assert answer.status_code == status, (answer.status_code, answer.text)
    assert answer.json()["error"] == error, answer.json()


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


# ---- external issuers ---------------------------------------------------------------------------
@pytest.fixture
def external_key():
    return RSAKey.generate_key(2048, parameters={"kid": "ext-1"})


def external_jwt(key, **claims):
    now = int(time.time())
    payload = {"iss": AGENTS, "iat": now, "exp": now + 300, **claims}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, payload, key)


@pytest.fixture
def trusted(tenant, external_key):
    return create_trusted_issuer(
        tenant,
        TrustedIssuerSpec(
            name="Agent platform",
            issuer=AGENTS,
            jwks={"keys": [external_key.as_dict(private=False)]},
            subject_match=SubjectMatch.EMAIL,
            allowed_scopes="openid email calendar.read",
        ),
    )


def test_external_jwts_as_subject_and_actor(endpoints, issuer, external_key, trusted, alice, make_agent):
    agent = make_agent("Agent", audiences=(CALENDAR,))
    subject = external_jwt(external_key, sub="u-1", email=alice.email, aud=issuer, scope="calendar.read calendar.write")
    actor = external_jwt(external_key, sub="agent-7", aud=issuer)
    answer = exchange(endpoints, agent, subject, JWT, actor_token=actor, actor_token_type=JWT, audience=CALENDAR)
    assert answer.status_code == 200, answer.text
    claims = verify_jwt(answer.json()["access_token"], endpoints["jwks"], iss=issuer, sub=str(alice.sub)).claims
    assert claims["act"] == {"sub": "agent-7", "iss": AGENTS}  # an external actor is named with its issuer
    assert claims["scope"] == "calendar.read"  # the trusted issuer's ceiling, not the token's wish
    event = AuditEvent.objects.get(action="oauth.token.exchanged")
    assert event.details["subject"]["iss"] == AGENTS and event.details["actor"]["external_sub"] == "agent-7"


def test_external_jwts_that_are_refused(endpoints, issuer, external_key, trusted, alice, make_agent):
    agent = make_agent("Agent", policy=TokenExchangePolicy.IMPERSONATION)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "ext-1"})
    now = int(time.time())
    cases = [
        external_jwt(external_key, sub="u-1", email=alice.email, aud=issuer, exp=now - 120),  # expired
        external_jwt(external_key, sub="u-1", email=alice.email, aud="https://elsewhere.example"),  # not for us
        external_jwt(stranger, sub="u-1", email=alice.email, aud=issuer),  # another key
        external_jwt(external_key, sub="u-1", email="nobody@acme.example", aud=issuer),  # no such user
        external_jwt(external_key, sub="u-1", email=alice.email, aud=issuer, iss="https://untrusted.example"),
    ]
    for token in cases:
        assert_error(exchange(endpoints, agent, token, JWT), "invalid_request")


def test_may_act_restricts_the_actor(endpoints, issuer, external_key, trusted, alice, make_agent):
    agent = make_agent("Agent")
    subject = external_jwt(external_key, sub="u-1", email=alice.email, aud=issuer, may_act={"sub": "agent-7"})
    wrong = external_jwt(external_key, sub="agent-9", aud=issuer)
    right = external_jwt(external_key, sub="agent-7", aud=issuer)
    assert_error(exchange(endpoints, agent, subject, JWT, actor_token=wrong, actor_token_type=JWT), "invalid_request")
    answer = exchange(endpoints, agent, subject, JWT, actor_token=right, actor_token_type=JWT)
    assert answer.status_code == 200, answer.text


def test_issuer_for_actors_only(endpoints, issuer, external_key, tenant, alice, make_agent, user_tokens):
    create_trusted_issuer(
        tenant,
        TrustedIssuerSpec(name="Workloads", issuer=AGENTS, jwks={"keys": [external_key.as_dict(private=False)]}),
    )
    agent = make_agent("Agent")
    subject = external_jwt(external_key, sub="u-1", email=alice.email, aud=issuer)
    actor = external_jwt(external_key, sub="agent-7", aud=issuer)
    assert_error(exchange(endpoints, agent, subject, JWT, actor_token=actor, actor_token_type=JWT), "invalid_request")
    answer = exchange(endpoints, agent, user_tokens["access_token"], actor_token=actor, actor_token_type=JWT)
    assert answer.status_code == 200, answer.text


def test_trusted_issuer_keys_from_jwks_uri(endpoints, issuer, external_key, tenant, alice, make_agent, settings):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True  # the key server listens on 127.0.0.1
    document = json.dumps({"keys": [external_key.as_dict(private=False)]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        trusted = create_trusted_issuer(
            tenant,
            TrustedIssuerSpec(
                name="Agents", issuer=AGENTS, jwks_uri="https://keys.example/jwks", subject_match=SubjectMatch.EMAIL
            ),
        )
        # The service refuses plain http; the test server has no TLS, so point the row at it directly.
        trusted.jwks_uri = f"http://127.0.0.1:{server.server_port}/jwks"
        trusted.save(update_fields=["jwks_uri"])
        agent = make_agent("Agent", policy=TokenExchangePolicy.IMPERSONATION)
        subject = external_jwt(external_key, sub="u-1", email=alice.email, aud=issuer, scope="email")
        answer = exchange(endpoints, agent, subject, JWT)
        assert answer.status_code == 200, answer.text
        assert answer.json()["scope"] == "email"
    finally:
        server.shutdown()


# ---- SAML assertions ----------------------------------------------------------------------------
def signed_assertion(idp, live_server, subject="emp-001", audience=None, sign=True) -> str:
    response = idp.create_authn_response(
        {"email": ["jo@corp.example"]},
        userid=subject,
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
        sign_assertion=False,
        sign_response=False,
        destination=f"{live_server.url}/t/acme/saml/sp/acs",
        sp_entity_id=audience or f"{live_server.url}/t/acme/saml/sp/metadata",
        in_response_to=None,
        name_id_policy=None,
    )
    assertion = samlp.response_from_string(str(response)).assertion[0]
    xml = str(assertion)
    if sign:
        assertion.signature = pre_signature_part(
            ident=assertion.id,
            public_key=read_cert_from_file(idp.config.cert_file, "pem"),
            sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
        )
        xml = idp.sec.sign_statement(
            str(assertion), "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", node_id=assertion.id
        )
    return base64.urlsafe_b64encode(xml.encode()).decode().rstrip("=")  # RFC 8693 §3: base64url


def test_saml_assertion_of_a_trusted_idp(corp, live_server, endpoints, issuer, tenant, alice, make_agent):  # noqa: F811
    idp, connection = corp
    FederatedIdentity.objects.create(tenant=tenant, user=alice, connection=connection.connection_key, subject="emp-001")
    agent = make_agent("Bridge", policy=TokenExchangePolicy.IMPERSONATION)
    token = signed_assertion(idp, live_server)
    answer = exchange(endpoints, agent, token, SAML2, scope="openid email")
    assert answer.status_code == 200, answer.text
    verify_jwt(answer.json()["access_token"], endpoints["jwks"], iss=issuer, sub=str(alice.sub))
    event = AuditEvent.objects.get(action="oauth.token.exchanged")
    assert event.details["subject"]["iss"] == connection.entity_id and event.details["subject"]["connection"] == "corp"
    # Used once; API scopes are beyond what an assertion proves; unsigned, tampered, foreign and
    # unlinked assertions are refused.
    assert_error(exchange(endpoints, agent, token, SAML2), "invalid_request")
    assert_error(
        exchange(endpoints, agent, signed_assertion(idp, live_server), SAML2, scope="calendar.read"), "invalid_scope"
    )
    assert_error(exchange(endpoints, agent, signed_assertion(idp, live_server, sign=False), SAML2), "invalid_request")
    xml = base64.urlsafe_b64decode(signed_assertion(idp, live_server) + "==").decode()
    tampered = base64.urlsafe_b64encode(xml.replace("emp-001", "emp-666").encode()).decode()
    assert_error(exchange(endpoints, agent, tampered, SAML2), "invalid_request")
    foreign = signed_assertion(idp, live_server, audience="https://someone-else.example/sp")
    assert_error(exchange(endpoints, agent, foreign, SAML2), "invalid_request")
    assert_error(
        exchange(endpoints, agent, signed_assertion(idp, live_server, subject="emp-002"), SAML2), "invalid_request"
    )
    assert_error(exchange(endpoints, agent, "not base64 !!", SAML2), "invalid_request")


# ---- tenant isolation ---------------------------------------------------------------------------
def test_tenant_isolation(live_server, endpoints, user_tokens, make_agent, other_tenant, external_key, alice):
    """A's tokens are unknown at B; A's agent is unknown at B; B trusts no issuer A trusts."""
    b_agent = make_agent("B agent", policy=TokenExchangePolicy.IMPERSONATION, target=other_tenant)
    b_endpoints = {"token": f"{live_server.url}/t/{other_tenant.slug}/api/v1/oauth/token"}
    for token, kind in ((user_tokens["access_token"], ACCESS), (user_tokens["access_token"], JWT)):
        assert_error(exchange(b_endpoints, b_agent, token, kind), "invalid_request")
    assert_error(exchange(b_endpoints, b_agent, user_tokens["id_token"], ID_TOKEN), "invalid_request")
    a_agent = make_agent("A agent", policy=TokenExchangePolicy.IMPERSONATION)
    assert_error(exchange(b_endpoints, a_agent, user_tokens["access_token"]), "invalid_client", 401)
    create_trusted_issuer(
        alice.tenant,
        TrustedIssuerSpec(
            name="Agents", issuer=AGENTS, jwks={"keys": [external_key.as_dict(private=False)]}, subject_match="email"
        ),
    )
    b_issuer = f"{live_server.url}/t/{other_tenant.slug}/api/v1"
    external = external_jwt(external_key, sub="u-1", email=alice.email, aud=b_issuer)
    assert_error(exchange(b_endpoints, b_agent, external, JWT), "invalid_request")


# ---- the portal's per-client switches -----------------------------------------------------------
def test_portal_sets_the_exchange_policy_and_par(tenant, make_user, sign_in, web_client):
    from django.test import Client as HttpClient

    make_user(tenant, "boss", is_tenant_admin=True)
    admin = HttpClient()
    sign_in(admin, tenant, "boss")
    url = f"/t/acme/portal/clients/{web_client.client_id}/"
    page = admin.get(url)
    for name in (EXCHANGE, "urn:ietf:params:oauth:grant-type:device_code", "require_pushed_authorization_requests"):
        assert name.encode() in page.content
    form = {
        "name": "Web app",
        "client_type": "confidential",
        "grant_types": ["authorization_code", "refresh_token", EXCHANGE],
        "token_endpoint_auth_method": "client_secret_basic",
        "redirect_uris": REDIRECT_URI,
        "post_logout_redirect_uris": "",
        "token_format": "jwt",
        "access_token_lifetime": 3600,
        "refresh_token_lifetime": 86400,
        "allowed_scopes": "",
        "require_pushed_authorization_requests": "on",
        "token_exchange_policy": "delegation",
        "token_exchange_audiences": f"{CALENDAR}\n{MAIL}",
    }
    assert admin.post(url, form).status_code == 302
    saved = Client.objects.get(pk=web_client.client.pk)
    assert saved.require_pushed_authorization_requests and saved.token_exchange_policy == "delegation"
    assert saved.token_exchange_audiences.split() == [CALENDAR, MAIL]
    # A policy without the grant type (or the grant without a policy) is refused in place.
    refused = admin.post(url, {**form, "grant_types": ["authorization_code"]})
    assert refused.status_code == 400 and refused.context["form"].errors["token_exchange_policy"]
    refused = admin.post(url, {**form, "token_exchange_policy": "none", "token_exchange_audiences": ""})
    assert refused.status_code == 400 and refused.context["form"].errors["token_exchange_policy"]


@pytest.mark.parametrize(
    "token,kind",
    [
        ("a.b.c", JWT),
        ("eyJhbGciOiJub25lIn0.WzEsMl0.", JWT),  # a JSON array as claims, alg none
        ("eyJhbGciOiJub25lIn0.eyJpc3MiOlsxXX0.", JWT),  # iss not a string
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", ID_TOKEN),
        ("%ff%fe", ACCESS),
        ("x" * 20000, JWT),
        (base64.urlsafe_b64encode(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>").decode(), SAML2),
        (base64.urlsafe_b64encode(b"<Assertion xmlns='urn:oasis:names:tc:SAML:2.0:assertion'/>").decode(), SAML2),
        (base64.urlsafe_b64encode(b"\xff\xfe").decode(), SAML2),
    ],
)
def test_garbage_subject_tokens_are_invalid_request(endpoints, user_tokens, make_agent, token, kind):
    agent = make_agent("Agent", policy=TokenExchangePolicy.IMPERSONATION)
    assert_error(exchange(endpoints, agent, token, kind), "invalid_request")
    assert_error(
        exchange(endpoints, agent, user_tokens["access_token"], actor_token=token, actor_token_type=JWT),
        "invalid_request",
    )


def test_trustissuer_command(tmp_path, tenant, external_key):
    import json

    from django.core.management import CommandError, call_command

    from oauth.models import TrustedIssuer

    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps({"keys": [external_key.as_dict(private=False)]}))
    call_command("trustissuer", "acme", AGENTS, "--jwks-file", str(keys), "--subject-match", "email")
    trusted = TrustedIssuer.objects.get(tenant=tenant, issuer=AGENTS)
    assert trusted.subject_match == "email" and trusted.jwks["keys"][0]["kid"] == "ext-1"
    assert AuditEvent.objects.filter(action="trusted_issuer.created", tenant=tenant).exists()
    for bad in (
        ["--jwks-uri", "http://keys.example/jwks"],  # https only
        ["--jwks-file", str(keys), "--jwks-uri", "https://keys.example/jwks"],  # one of the two
        [],  # no keys at all
    ):
        with pytest.raises(CommandError):
            call_command("trustissuer", "acme", "https://other.example", *bad)
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [external_key.as_dict(private=True)]}))
    with pytest.raises(CommandError):  # private keys are not a JWK Set of public keys
        call_command("trustissuer", "acme", "https://other.example", "--jwks-file", str(private))
    call_command("trustissuer", "acme", AGENTS, "--remove")
    assert not TrustedIssuer.objects.exists()
    assert AuditEvent.objects.filter(action="trusted_issuer.deleted", tenant=tenant).exists()
