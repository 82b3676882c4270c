"""Attacks on the tenant's SAML SP: tampered, expired, wrapped, bombed, replayed across tenants."""

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.assertion import Policy
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID

from saml.services.idp_connections import create_connection
from tenants.models import User
from tests.browser import Browser

from .test_idp_sso import form_fields

pytestmark = pytest.mark.django_db(transaction=True)


def issued_response(
    browser,
    live_server,
    idp,
    tenant_slug="acme",
    sign_response=True,
    sign_assertion=True,
    email="jo@corp.example",
    release_policy=None,
):
    """Ask for a sign-in at `tenant_slug` and let the IdP answer; returns (acs_url, SAMLResponse XML)."""
    start = browser.session.get(
        f"{live_server.url}/t/{tenant_slug}/saml/sp/login?idp=corp", allow_redirects=False, timeout=10
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["Location"]).query).items()}
    request = idp.parse_authn_request(
        query["SAMLRequest"], BINDING_HTTP_REDIRECT, sigalg=query.get("SigAlg"), signature=query.get("Signature")
    )
    args = idp.response_args(request.message, [BINDING_HTTP_POST])
    response = idp.create_authn_response(
        {"email": [email], "givenName": ["Jo"]},
        userid="emp-001",
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="emp-001"),
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
        sign_assertion=sign_assertion,
        sign_response=sign_response,
        release_policy=release_policy,
        **args,
    )
    form = idp.apply_binding(BINDING_HTTP_POST, str(response), args["destination"], "", response=True)
    action, fields = form_fields(form["data"])
    return action, base64.b64decode(fields["SAMLResponse"]).decode()


def post(browser, action, xml: str):
    return browser.session.post(
        action, data={"SAMLResponse": base64.b64encode(xml.encode()).decode()}, allow_redirects=False, timeout=10
    )


def test_genuine_response_works(corp, live_server):
    idp, _ = corp
    browser = Browser(live_server.url)
    action, xml = issued_response(browser, live_server, idp)
    assert post(browser, action, xml).status_code == 302


def test_tampered_response_is_refused(corp, live_server):
    idp, _ = corp
    browser = Browser(live_server.url)
    action, xml = issued_response(browser, live_server, idp)
    assert "jo@corp.example" in xml
    assert post(browser, action, xml.replace("jo@corp.example", "ceo@corp.example")).status_code == 400
    assert not User.objects.exists()


def test_expired_response_is_refused(tmp_path, corp, live_server):
    idp, _ = corp
    expired = Policy({"default": {"lifetime": {"minutes": -10}, "attribute_restrictions": None}}, idp.metadata)
    browser = Browser(live_server.url)
    action, xml = issued_response(browser, live_server, idp, release_policy=expired)
    assert post(browser, action, xml).status_code == 400
    assert not User.objects.exists()


def test_signature_wrapping_is_refused(corp, live_server):
    """XSW: a forged, unsigned assertion placed before the genuine signed one."""
    idp, _ = corp
    browser = Browser(live_server.url)
    action, xml = issued_response(browser, live_server, idp, sign_response=False, sign_assertion=True)
    assertion = re.search(r"<(\w+):Assertion .*?</\1:Assertion>", xml, re.S).group(0)
    forged = re.sub(r"<(\w+):Signature .*?</\1:Signature>", "", assertion, flags=re.S)
    forged = forged.replace("jo@corp.example", "ceo@corp.example").replace('ID="', 'ID="forged-', 1)
    wrapped = xml.replace(assertion, forged + assertion)
    answer = post(browser, action, wrapped)
    assert answer.status_code == 400
    assert not User.objects.filter(email="ceo@corp.example").exists()


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&d;</samlp:Response>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;</samlp:Response>',
    ],
)
def test_xml_bombs_and_external_entities_are_refused(corp, live_server, xml):
    browser = Browser(live_server.url)
    assert post(browser, f"{live_server.url}/t/acme/saml/sp/acs", xml).status_code == 400


def test_response_for_tenant_a_is_refused_by_tenant_b(corp, live_server, other_tenant, tmp_path):
    idp, connection = corp
    # Tenant B connects the very same corporate IdP.
    create_connection(
        other_tenant, "corp", "Corp SSO", create_metadata_string(None, config=idp.config, sign=False).decode()
    )
    browser = Browser(live_server.url)
    action, xml = issued_response(browser, live_server, idp)  # meant for tenant A
    answer = post(browser, action.replace("/t/acme/", f"/t/{other_tenant.slug}/"), xml)
    assert answer.status_code == 400
    assert not User.objects.filter(tenant=other_tenant).exists()
