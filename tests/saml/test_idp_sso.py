"""The tenant as a SAML IdP, end to end: a pysaml2 SP sends an AuthnRequest, the user signs in on
the hosted page, and the SP verifies the signed Response with xmlsec1."""

import html
import re

import pytest
import requests
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

from lumoauth.events.models import AuditEvent

from .conftest import SP_ACS, SP_ENTITY_ID

pytestmark = pytest.mark.django_db(transaction=True)


def form_fields(page_html: str) -> tuple[str, dict]:
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page_html).group(1))
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page_html)
    }
    return action, fields


def test_idp_metadata_is_signed_and_names_the_endpoints(idp_base):
    answer = requests.get(f"{idp_base}/metadata", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/samlmetadata+xml"
    xml = answer.text
    assert f'entityID="{idp_base}/metadata"' in xml
    assert f'Location="{idp_base}/sso"' in xml
    assert "rsa-sha256" in xml and "X509Certificate" in xml and "Signature" in xml


@pytest.mark.parametrize("binding", [BINDING_HTTP_REDIRECT, BINDING_HTTP_POST])
def test_sp_initiated_sso(saml_sp, idp_base, browser, alice, binding):
    client, _config = saml_sp
    request_id, info = client.prepare_for_authenticate(
        entityid=f"{idp_base}/metadata", relay_state="/after", binding=binding
    )
    if binding == BINDING_HTTP_REDIRECT:
        page = browser.go(dict(info["headers"])["Location"])
    else:
        action, fields = form_fields(info["data"])
        first = browser.session.post(action, data=fields, allow_redirects=False, timeout=10)
        page = browser.go(requests.compat.urljoin(action, first.headers["Location"]))
    action, fields = form_fields(page.text)
    assert action == SP_ACS and fields["RelayState"] == "/after"

    response = client.parse_authn_request_response(
        fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/after"}
    )
    assert response is not None and response.in_response_to == request_id
    assert response.name_id.format == NAMEID_FORMAT_EMAILADDRESS and response.name_id.text == "alice@acme.example"
    identity = response.get_identity()
    assert identity["email"] == ["alice@acme.example"] and identity["givenName"] == ["Alice"]
    assertion = response.assertion
    assert assertion.signature is not None  # and the Response itself, checked by want_response_signed
    assert assertion.conditions.audience_restriction[0].audience[0].text == SP_ENTITY_ID
    assert assertion.conditions.not_before and assertion.conditions.not_on_or_after
    statement = assertion.authn_statement[0]
    assert statement.session_index
    assert statement.authn_context.authn_context_class_ref.text.endswith("PasswordProtectedTransport")
    assert AuditEvent.objects.filter(action="saml.sso.succeeded", actor_id=str(alice.pk)).exists()


def test_idp_initiated_sso(saml_sp, idp_base, browser, alice):
    client, _config = saml_sp
    page = browser.go(f"{idp_base}/sso?sp={SP_ENTITY_ID}&RelayState=/home")
    action, fields = form_fields(page.text)
    assert action == SP_ACS
    response = client.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST)
    assert response.in_response_to is None and response.name_id.text == "alice@acme.example"


def test_unknown_sp_and_garbage_get_an_error_page(idp_base, saml_sp):
    for query in ("", "?SAMLRequest=garbage", "?SAMLRequest=" + "A" * 100, "?sp=https://unknown.example/"):
        answer = requests.get(f"{idp_base}/sso{query}", allow_redirects=False, timeout=10)
        assert answer.status_code == 400 and "cannot continue" in answer.text
    answer = requests.post(f"{idp_base}/sso", data={"SAMLRequest": "PHhtbD4="}, allow_redirects=False, timeout=10)
    assert answer.status_code == 400
    assert AuditEvent.objects.filter(action="saml.sso.failed").count() == 5
