"""Per-SP options of the IdP: NameID formats, encryption, signed requests, ForceAuthn, ACS checks,
registration from metadata, and tenant isolation - each against a real pysaml2 SP."""

import base64

import pytest
import requests
from django.core.exceptions import ValidationError
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client

from saml.models import NameIDFormat, ServiceProvider
from saml.services.service_providers import register_from_metadata, update_service_provider
from tests.browser import Browser

from .conftest import SP_ACS, make_keypair, sp_config, sp_metadata
from .test_idp_sso import form_fields

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_via_sp(client, idp_base, browser, binding=BINDING_HTTP_REDIRECT, **kwargs):
    request_id, info = client.prepare_for_authenticate(entityid=f"{idp_base}/metadata", binding=binding, **kwargs)
    page = browser.go(dict(info["headers"])["Location"])
    if "SAMLResponse" not in page.text:
        return None, page
    _action, fields = form_fields(page.text)
    return client.parse_authn_request_response(
        fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={request_id: "/"}
    ), page


def test_persistent_nameid_is_stable_per_sp_and_transient_is_not(
    saml_sp, idp_base, tenant, browser, alice, live_server
):
    client, _ = saml_sp
    sp = ServiceProvider.objects.get(tenant=tenant)
    update_service_provider(sp, nameid_format=NameIDFormat.PERSISTENT)
    first, _ = sign_in_via_sp(client, idp_base, browser, nameid_format=NameIDFormat.PERSISTENT)
    second, _ = sign_in_via_sp(client, idp_base, browser, nameid_format=NameIDFormat.PERSISTENT)
    assert first.name_id.format == NameIDFormat.PERSISTENT
    assert first.name_id.text == second.name_id.text and "alice" not in first.name_id.text
    update_service_provider(sp, nameid_format=NameIDFormat.TRANSIENT)
    third, _ = sign_in_via_sp(client, idp_base, browser, nameid_format=NameIDFormat.TRANSIENT)
    fourth, _ = sign_in_via_sp(client, idp_base, browser, nameid_format=NameIDFormat.TRANSIENT)
    assert third.name_id.text != fourth.name_id.text


def test_encrypted_assertion_is_decrypted_by_the_sp(saml_sp, idp_base, tenant, browser, alice):
    client, _ = saml_sp
    update_service_provider(ServiceProvider.objects.get(tenant=tenant), encrypt_assertion=True)
    response, page = sign_in_via_sp(client, idp_base, browser)
    _action, fields = form_fields(page.text)
    assert b"EncryptedAssertion" in base64.b64decode(fields["SAMLResponse"])
    assert response.get_identity()["email"] == ["alice@acme.example"]


def test_force_authn_asks_for_the_password_again(saml_sp, idp_base, browser, alice):
    client, _ = saml_sp
    sign_in_via_sp(client, idp_base, browser)
    _request_id, info = client.prepare_for_authenticate(
        entityid=f"{idp_base}/metadata", force_authn="true", binding=BINDING_HTTP_REDIRECT
    )
    page = browser.go(dict(info["headers"])["Location"], username=None)
    assert 'name="password"' in page.text


def test_unregistered_acs_url_is_refused(saml_sp, idp_base, browser, alice):
    client, _ = saml_sp
    response, page = sign_in_via_sp(
        client, idp_base, browser, assertion_consumer_service_url="https://evil.example/acs"
    )
    assert response is None and page.status_code == 400 and "has not registered" in page.text


def test_signed_requests_when_required(tmp_path, tenant, idp_base, live_server, alice):
    keypair = make_keypair(tmp_path, "signing-sp")
    register_from_metadata(tenant, sp_metadata(sp_config(keypair, sign_requests=True)))
    assert ServiceProvider.objects.get(tenant=tenant).require_signed_requests
    idp_metadata = requests.get(f"{idp_base}/metadata", timeout=10).text
    signer = Saml2Client(sp_config(keypair, idp_metadata, sign_requests=True))
    response, _ = sign_in_via_sp(
        signer,
        idp_base,
        Browser(live_server.url),
        sign=True,
        sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    )
    assert response is not None and response.name_id.text == "alice@acme.example"
    unsigned = Saml2Client(sp_config(keypair, idp_metadata, sign_requests=False))
    response, page = sign_in_via_sp(unsigned, idp_base, Browser(live_server.url), sign=False)
    assert response is None and page.status_code == 400
    impostor = Saml2Client(sp_config(make_keypair(tmp_path, "impostor"), idp_metadata, sign_requests=True))
    response, page = sign_in_via_sp(
        impostor,
        idp_base,
        Browser(live_server.url),
        sign=True,
        sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    )
    assert response is None and page.status_code == 400


def test_sp_of_tenant_a_is_unknown_at_tenant_b(saml_sp, live_server, other_tenant, alice):
    client, _ = saml_sp
    other_idp = f"{live_server.url}/t/{other_tenant.slug}/saml/idp"
    _request_id, info = client.prepare_for_authenticate(
        entityid=client.config.metadata.identity_providers()[0], binding=BINDING_HTTP_REDIRECT
    )
    location = dict(info["headers"])["Location"].replace("/t/acme/", f"/t/{other_tenant.slug}/")
    answer = requests.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "not registered" in answer.text
    a_cert = requests.get(f"{live_server.url}/t/acme/saml/idp/metadata", timeout=10).text.split("X509Certificate>")[1]
    b_cert = requests.get(f"{other_idp}/metadata", timeout=10).text.split("X509Certificate>")[1]
    assert a_cert != b_cert


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "not xml",
        "<a><b></a>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>',
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>',
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>',
    ],
)
def test_bad_metadata_is_refused(tenant, metadata):
    with pytest.raises(ValidationError):
        register_from_metadata(tenant, metadata)
    assert not ServiceProvider.objects.exists()


def test_same_sp_twice_is_refused(tmp_path, tenant):
    metadata = sp_metadata(sp_config(make_keypair(tmp_path)))
    sp = register_from_metadata(tenant, metadata)
    assert [(e["url"], e["binding"]) for e in sp.acs_endpoints] == [(SP_ACS, BINDING_HTTP_POST)]
    with pytest.raises(ValidationError):
        register_from_metadata(tenant, metadata)
