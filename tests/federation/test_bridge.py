"""The bridge: a session obtained through an OpenID Connect connection serves the tenant's OAuth
clients (Authlib as the client, the ID token checked by joserfc) and SAML service providers (a
pysaml2 SP verifying the signed response), like a password sign-in."""

import html
import re

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client

from tenants.models import User
from tests.browser import Browser
from tests.oauth.conftest import REDIRECT_URI, redirect_params, verify_jwt
from tests.saml.conftest import make_keypair, sp_config, sp_metadata
from tests.saml.test_idp_sso import form_fields

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_through_globex(globex_op, browser, start_url):
    """Start as an OAuth or SAML request would (at Acme's sign-in page) and pick the Globex button,
    which carries the `next` that resumes the request."""
    login_page = browser.go(start_url, username=None)
    assert 'name="password"' in login_page.text
    href = html.unescape(
        re.search(r'href="([^"]*/federation/oidc/globex/login\?next=[^"]+)"', login_page.text).group(1)
    )
    return browser.go(globex_op.base + href, username="bob")


def test_federated_session_serves_the_tenants_oauth_clients(globex_op, tenant, live_server, make_user):
    from oauth.models import AuthMethod, Client, GrantType
    from oauth.services.clients import ClientSpec, create_client

    app, secret = create_client(
        tenant,
        ClientSpec(
            name="Acme app",
            client_type=Client.CLIENT_CONFIDENTIAL,
            grant_types=[GrantType.AUTHORIZATION_CODE],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            redirect_uris=[REDIRECT_URI],
        ),
    )
    issuer = f"{live_server.url}/t/acme/api/v1"
    session = OAuth2Session(
        app.client_id, secret, scope="openid profile email", redirect_uri=REDIRECT_URI, code_challenge_method="S256"
    )
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = session.create_authorization_url(f"{issuer}/oauth/authorize", code_verifier=verifier, nonce=nonce)

    browser = Browser(live_server.url)
    sign_in_through_globex(globex_op, browser, url)
    # Back at Acme's authorization endpoint, signed in: Acme's consent page, then the code.
    response = browser.go(url, username=None, consent="allow")
    params = redirect_params(response)
    assert params["state"] == state and params["iss"] == issuer
    token = session.fetch_token(
        f"{issuer}/oauth/token", authorization_response=response.headers["Location"], code_verifier=verifier
    )
    user = User.objects.get(tenant=tenant, email="bob@globex.example")
    id_token = verify_jwt(
        token["id_token"],
        f"{issuer}/.well-known/jwks.json",
        iss=issuer,
        aud=app.client_id,
        nonce=nonce,
        sub=str(user.sub),
    )
    assert id_token.claims["amr"] == ["fed"]
    assert id_token.claims["email"] == "bob@globex.example" and id_token.claims["given_name"] == "Bob"


def test_federated_session_serves_the_tenants_saml_service_providers(globex_op, tenant, live_server, tmp_path):
    from saml.services.service_providers import register_from_metadata

    keypair = make_keypair(tmp_path, "sp")
    register_from_metadata(tenant, sp_metadata(sp_config(keypair)), name="Example SP")
    idp_base = f"{live_server.url}/t/acme/saml/idp"
    import requests

    client = Saml2Client(sp_config(keypair, requests.get(f"{idp_base}/metadata", timeout=10).text))
    request_id, info = client.prepare_for_authenticate(
        entityid=f"{idp_base}/metadata", relay_state="/after", binding=BINDING_HTTP_REDIRECT
    )
    sso_url = dict(info["headers"])["Location"]

    browser = Browser(live_server.url)
    # The SSO endpoint sends the anonymous browser to the sign-in page; Globex signs Bob in; the
    # pending SAML request resumes.
    page = sign_in_through_globex(globex_op, browser, sso_url)
    action, fields = form_fields(page.text)
    response = client.parse_authn_request_response(
        fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/after"}
    )
    assert response is not None and response.in_response_to == request_id
    assert response.name_id.text == "bob@globex.example"
    assert response.get_identity()["givenName"] == ["Bob"]
