"""Home-realm discovery on the hosted sign-in page: an email at a verified domain goes straight to the
connection serving it (OpenID Connect or SAML); everyone else gets the password form."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from oauth.federation.services import update_connection
from tenants.domains.claims import claim_domain, verify_claim
from tenants.models import User
from tests.browser import PASSWORD, Browser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def verified_globex(globex_op, tenant, dns_server):
    claim = claim_domain(tenant, "globex.example")  # already claimed when the connection listed it
    dns_server.publish("_lumoauth.globex.example", claim.record_value)
    assert verify_claim(claim)
    return globex_op


def location(response) -> tuple[str, dict]:
    parts = urlsplit(response.headers["Location"])
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_unverified_domain_gets_the_password_form(globex_op, client):
    page = client.get("/t/acme/login")
    assert b"Globex SSO" in page.content  # the button is there either way
    assert b"single sign-on" not in page.content  # but no email routing is announced yet
    response = client.post("/t/acme/login", {"identifier": "bob@globex.example", "password": ""})
    assert response.status_code == 400 and b"This field is required." in response.content


def test_verified_domain_routes_the_email_to_its_connection(verified_globex, client, alice, sign_in):
    assert b"single sign-on" in client.get("/t/acme/login").content
    response = client.post(
        "/t/acme/login", {"identifier": " Bob@Globex.example ", "password": "", "next": "/t/acme/account?x=1"}
    )
    assert response.status_code == 302
    path, query = location(response)
    assert path == "/t/acme/federation/oidc/globex/login"
    assert query == {"next": "/t/acme/account?x=1", "login_hint": "Bob@Globex.example"}
    # A password typed anyway is not used.
    with_password = client.post("/t/acme/login", {"identifier": "bob@globex.example", "password": "whatever"})
    assert with_password.status_code == 302 and location(with_password)[0].endswith("/federation/oidc/globex/login")
    # Usernames and other domains sign in with a password as before.
    assert sign_in(client, verified_globex.connection.tenant, "alice").status_code == 302
    other = client.post("/t/acme/login", {"identifier": "someone@elsewhere.example", "password": ""})
    assert other.status_code == 400
    # An unsafe next is dropped, as on the password path.
    unsafe = client.post("/t/acme/login", {"identifier": "bob@globex.example", "next": "https://evil.example/"})
    assert "next" not in location(unsafe)[1]


def test_login_hint_at_a_verified_domain_goes_straight_there(verified_globex, client):
    response = client.get("/t/acme/login?login_hint=bob@globex.example&next=/t/acme/account")
    assert response.status_code == 302
    assert location(response) == (
        "/t/acme/federation/oidc/globex/login",
        {"next": "/t/acme/account", "login_hint": "bob@globex.example"},
    )
    # The /orgs/ alias keeps its prefix.
    alias = client.get("/orgs/acme/login?login_hint=bob@globex.example")
    assert location(alias)[0] == "/orgs/acme/federation/oidc/globex/login"


def test_inactive_connection_does_not_route(verified_globex, client):
    update_connection(verified_globex.connection, active=False)
    response = client.post("/t/acme/login", {"identifier": "bob@globex.example", "password": ""})
    assert response.status_code == 400
    assert b"Globex SSO" not in client.get("/t/acme/login").content


def test_another_tenants_verified_domain_routes_nothing_here(verified_globex, client, other_tenant):
    # Globex's sign-in page knows nothing of Acme's connection or Acme's domain claim.
    response = client.post("/t/globex/login", {"identifier": "bob@globex.example", "password": ""})
    assert response.status_code == 400
    assert b"Globex SSO" not in client.get("/t/globex/login").content


def test_email_first_through_the_whole_flow(verified_globex, tenant, live_server):
    """The person types only their email at Acme; they finish signed in at Acme through Globex."""
    browser = Browser(live_server.url)
    page = browser.session.get(f"{live_server.url}/t/acme/login?next=/t/acme/account", timeout=10)
    csrf = browser._csrf(page.text)
    routed = browser.session.post(
        f"{live_server.url}/t/acme/login",
        data={
            "identifier": "bob@globex.example",
            "password": "",
            "next": "/t/acme/account",
            "csrfmiddlewaretoken": csrf,
        },
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    assert routed.status_code == 302
    final = browser.go(f"{live_server.url}{routed.headers['Location']}", username="bob", password=PASSWORD)
    assert final.status_code == 200 and final.url == f"{live_server.url}/t/acme/account"
    assert User.objects.filter(tenant=tenant, email="bob@globex.example").exists()


def test_routing_to_a_saml_connection(tenant, client, dns_server, tmp_path):
    from saml2.metadata import create_metadata_string

    from saml.services.idp_connections import create_connection as create_saml_connection
    from tests.saml.conftest import corporate_idp, make_keypair

    keypair = make_keypair(tmp_path, "corp-idp")
    metadata = create_metadata_string(None, config=corporate_idp(keypair).config, sign=False).decode()
    create_saml_connection(tenant, "corp", "Corp SSO", metadata, email_domains=["corp.example"])
    claim = claim_domain(tenant, "corp.example")
    dns_server.publish("_lumoauth.corp.example", claim.record_value)
    assert verify_claim(claim)
    response = client.post("/t/acme/login", {"identifier": "jo@corp.example", "next": "/t/acme/account"})
    assert response.status_code == 302
    assert location(response) == (
        "/t/acme/saml/sp/login",
        {"idp": "corp", "next": "/t/acme/account", "login_hint": "jo@corp.example"},
    )


def test_one_domain_one_connection_across_protocols(verified_globex, tenant, tmp_path):
    from django.core.exceptions import ValidationError
    from saml2.metadata import create_metadata_string

    from saml.services.idp_connections import create_connection as create_saml_connection
    from tests.saml.conftest import corporate_idp, make_keypair

    keypair = make_keypair(tmp_path, "corp-idp")
    metadata = create_metadata_string(None, config=corporate_idp(keypair).config, sign=False).decode()
    with pytest.raises(ValidationError) as refused:
        create_saml_connection(tenant, "corp", "Corp SSO", metadata, email_domains=["globex.example"])
    assert "globex.example is already served by Globex SSO." in refused.value.messages


def test_garbage_identifiers_never_break_the_page(verified_globex, live_server):
    session = requests.Session()
    page = session.get(f"{live_server.url}/t/acme/login", timeout=10)
    csrf = Browser(live_server.url)._csrf(page.text)
    for identifier in (
        "@",
        "a@",
        "@globex.example",
        "x@globex..example",
        "x@" + "a" * 300 + ".example",
        "x@globex.example@",
    ):
        answer = session.post(
            f"{live_server.url}/t/acme/login",
            data={"identifier": identifier, "password": "", "csrfmiddlewaretoken": csrf},
            headers={"Referer": page.url},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 400, identifier
