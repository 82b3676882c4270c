"""The tenant as a SAML SP: a real pysaml2 IdP (the corporate IdP) answers our AuthnRequests;
users are provisioned just in time, linked, updated, and can then use the tenant's OAuth apps."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from saml2 import BINDING_HTTP_REDIRECT
from saml2.metadata import create_metadata_string

from lumoauth.events.models import AuditEvent
from saml.services.idp_connections import create_connection
from tenants.models import FederatedIdentity, User

from .conftest import IDP_ENTITY, IDP_SSO, answer_authn_request, corporate_idp
from .test_idp_sso import form_fields

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_at_corp(
    browser,
    live_server,
    idp,
    subject="emp-001",
    email="jo@corp.example",
    given="Jo",
    groups=("eng-all",),
    next_path="/t/acme/account",
    sign_assertion=True,
    audience_override=None,
    keep_response=False,
):
    start = browser.session.get(
        f"{live_server.url}/t/acme/saml/sp/login?idp=corp&next={next_path}", allow_redirects=False, timeout=10
    )
    assert start.status_code == 302 and start.headers["Location"].startswith(IDP_SSO)
    assert "Signature=" in start.headers["Location"]  # our AuthnRequests are signed
    form = answer_authn_request(
        idp,
        start.headers["Location"],
        subject=subject,
        email=email,
        given=given,
        groups=groups,
        sign_assertion=sign_assertion,
        audience_override=audience_override,
    )
    action, fields = form_fields(form["data"])
    answer = browser.session.post(action, data=fields, allow_redirects=False, timeout=10)
    return (answer, fields) if keep_response else answer


def test_first_sign_in_provisions_then_updates(corp, browser, live_server):
    idp, connection = corp
    answer = sign_in_at_corp(browser, live_server, idp)
    assert answer.status_code == 302 and answer.headers["Location"] == "/t/acme/account"
    user = User.objects.get(tenant=connection.tenant, email="jo@corp.example")
    assert user.given_name == "Jo" and user.family_name == "Doe" and user.email_verified is False
    assert sorted(user.directory_groups.values_list("name", flat=True)) == ["Employees", "Engineering"]
    assert FederatedIdentity.objects.get(user=user).subject == "emp-001"
    assert "Jo" in browser.session.get(f"{live_server.url}/t/acme/account", timeout=10).text
    # Next sign-in: same user, attributes updated.
    from tests.browser import Browser

    again = sign_in_at_corp(Browser(live_server.url), live_server, idp, given="Joanna")
    assert again.status_code == 302
    assert User.objects.filter(tenant=connection.tenant).count() == 1
    user.refresh_from_db()
    assert user.given_name == "Joanna"
    assert AuditEvent.objects.filter(action="login.succeeded", details__method="saml").count() == 2


def test_existing_account_is_linked_only_when_trusted(corp, browser, live_server, tenant, make_user):
    idp, connection = corp
    existing = make_user(tenant, "jo", email="jo@corp.example")
    refused = sign_in_at_corp(browser, live_server, idp)
    assert refused.status_code == 400 and "already exists" in refused.text
    assert not FederatedIdentity.objects.exists()
    connection.trust_email = True
    connection.save()
    from tests.browser import Browser

    linked = sign_in_at_corp(Browser(live_server.url), live_server, idp)
    assert linked.status_code == 302
    assert FederatedIdentity.objects.get().user == existing


def test_unsigned_wrong_audience_and_replayed_responses_are_refused(corp, browser, live_server):
    idp, _ = corp
    from tests.browser import Browser

    unsigned = sign_in_at_corp(Browser(live_server.url), live_server, idp, sign_assertion=False)
    assert unsigned.status_code == 400
    wrong_audience = sign_in_at_corp(
        Browser(live_server.url), live_server, idp, audience_override="https://someone-else.example/sp"
    )
    assert wrong_audience.status_code == 400
    ok, fields = sign_in_at_corp(browser, live_server, idp, keep_response=True)
    assert ok.status_code == 302
    replay = browser.session.post(
        f"{live_server.url}/t/acme/saml/sp/acs", data=fields, allow_redirects=False, timeout=10
    )
    assert replay.status_code == 400
    assert not User.objects.exclude(email="jo@corp.example").exists()


def test_acs_and_login_reject_garbage(live_server, corp):
    for data in ({}, {"SAMLResponse": "garbage"}, {"SAMLResponse": "PHhtbC8+"}):
        answer = requests.post(f"{live_server.url}/t/acme/saml/sp/acs", data=data, allow_redirects=False, timeout=10)
        assert answer.status_code == 400
    assert requests.get(f"{live_server.url}/t/acme/saml/sp/login?idp=nope", timeout=10).status_code == 400


def test_saml_session_serves_oauth_clients(corp, browser, live_server, web_client):
    """The protocol bridge: signed in through the corporate IdP, the user gets OIDC tokens."""
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    from tests.oauth.conftest import REDIRECT_URI, redirect_params

    idp, _ = corp
    assert sign_in_at_corp(browser, live_server, idp).status_code == 302
    session = OAuth2Session(
        web_client.client_id,
        web_client.secret,
        scope="openid email",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    url, _ = session.create_authorization_url(
        f"{live_server.url}/t/acme/api/v1/oauth/authorize", code_verifier=verifier
    )
    response = browser.go(url, username=None)  # no password: the SAML session is enough
    assert "code" in redirect_params(response)
    token = session.fetch_token(
        f"{live_server.url}/t/acme/api/v1/oauth/token",
        authorization_response=response.headers["Location"],
        code_verifier=verifier,
    )
    claims = session.get(f"{live_server.url}/t/acme/api/v1/oauth/userinfo").json()
    assert claims["email"] == "jo@corp.example" and token["id_token"]


def test_connection_from_a_metadata_url(tmp_path, other_tenant, settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True  # the metadata server is on 127.0.0.1 (SSRF policy)
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from django.core.exceptions import ValidationError

    from .conftest import make_keypair

    document = create_metadata_string(None, config=corporate_idp(make_keypair(tmp_path, "url-idp")).config, sign=False)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metadata"
        connection = create_connection(other_tenant, "corp", "Corp", metadata_url=url)
        assert connection.entity_id == IDP_ENTITY and connection.sso_url == IDP_SSO
        with pytest.raises(ValidationError):
            create_connection(other_tenant, "other", "Other", metadata_url="ftp://example.com/md")
        with pytest.raises(ValidationError):
            create_connection(other_tenant, "other", "Other", metadata_url="http://127.0.0.1:1/nothing")
    finally:
        server.shutdown()


def test_a_fresh_sign_in_is_asked_of_the_idp_with_force_authn(corp, browser, live_server, web_client):
    """prompt=login at our authorization endpoint, then the corporate IdP: the AuthnRequest carries
    ForceAuthn="true" (SAML Core §3.4.1), so the IdP's own session cannot stand in."""
    from urllib.parse import urlencode

    from tests.oauth.conftest import REDIRECT_URI

    idp, _ = corp
    assert sign_in_at_corp(browser, live_server, idp).status_code == 302

    def authn_request(next_url: str):
        start = browser.session.get(
            f"{live_server.url}/t/acme/saml/sp/login",
            params={"idp": "corp", "next": next_url},
            allow_redirects=False,
            timeout=10,
        )
        query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["Location"]).query).items()}
        return idp.parse_authn_request(
            query["SAMLRequest"], BINDING_HTTP_REDIRECT, sigalg=query["SigAlg"], signature=query["Signature"]
        ).message

    query = {
        "response_type": "code",
        "client_id": web_client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "prompt": "login",
    }
    authorize = browser.session.get(
        f"{live_server.url}/t/acme/api/v1/oauth/authorize?{urlencode(query)}", allow_redirects=False, timeout=10
    )
    assert authorize.status_code == 302 and "/t/acme/login" in authorize.headers["Location"]
    fresh = parse_qs(urlsplit(authorize.headers["Location"]).query)["next"][0]
    assert authn_request(fresh).force_authn == "true"
    assert authn_request("/t/acme/account").force_authn in (None, "false")
