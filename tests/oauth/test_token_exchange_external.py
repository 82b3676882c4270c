# ruff: noqa: F811 - the shared fixtures imported below are parameters of the tests
"""Token exchange (RFC 8693) with subject and actor tokens from outside the tenant - JWTs of trusted
external issuers (joserfc keys, inline or by jwks_uri) and SAML assertions of a real pysaml2 IdP -
plus tenant isolation, the portal's per-client switches, malformed tokens and `manage.py
trustissuer`."""

import base64
import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from saml2 import samlp
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.sigver import pre_signature_part, read_cert_from_file

from lumoauth.events.models import AuditEvent
from oauth.models import Client, SubjectMatch, TokenExchangePolicy
from oauth.services.trusted_issuers import TrustedIssuerSpec, create_trusted_issuer
from tenants.models import FederatedIdentity
from tests.saml.conftest import corp  # noqa: F401 (a pysaml2 corporate IdP and the tenant's connection to it)

from .conftest import REDIRECT_URI, verify_jwt
from .exchange_support import (  # noqa: F401 (fixtures, and api_scopes, which make_agent uses)
    ACCESS,
    AGENTS,
    CALENDAR,
    EXCHANGE,
    ID_TOKEN,
    JWT,
    MAIL,
    SAML2,
    api_scopes,
    assert_error,
    exchange,
    make_agent,
    user_tokens,
)

pytestmark = pytest.mark.django_db(transaction=True)


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
