"""Shared by the portal's SAML tests: SP and IdP metadata made by pysaml2, and the forms as posted."""

from xml.etree import ElementTree

import pytest
from saml2.metadata import create_metadata_string

from lumoauth.events.models import AuditEvent
from saml.models import NameIDFormat
from tests.saml.conftest import corporate_idp, make_keypair, sp_config, sp_metadata

SAML = "/t/acme/portal/saml/"
CONNECTIONS = "/t/acme/portal/saml/connections/"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"


@pytest.fixture
def keypair(tmp_path):
    return make_keypair(tmp_path, "sp")


@pytest.fixture
def metadata(keypair):
    """A real SP's metadata, as pysaml2 publishes it."""
    return sp_metadata(sp_config(keypair))


@pytest.fixture
def idp_keypair(tmp_path):
    return make_keypair(tmp_path, "corp-idp")


@pytest.fixture
def idp_metadata(idp_keypair):
    """A real corporate IdP's metadata, as pysaml2 publishes it."""
    return create_metadata_string(None, config=corporate_idp(idp_keypair).config, sign=False).decode()


def without_certificate(metadata: str) -> str:
    root = ElementTree.fromstring(metadata)
    for descriptor in root.iter(f"{{{MD}}}SPSSODescriptor"):
        for key in descriptor.findall(f"{{{MD}}}KeyDescriptor"):
            descriptor.remove(key)
    return ElementTree.tostring(root, encoding="unicode")


def sp_form(**overrides) -> dict:
    data = {
        "name": "Wiki",
        "nameid_format": NameIDFormat.EMAIL,
        "attribute_release": "email = email\nuid = username",
        "sign_response": "on",
        "sign_assertion": "on",
        "active": "on",
    }
    return {k: v for k, v in (data | overrides).items() if v is not None}


def connection_form(**overrides) -> dict:
    data = {
        "name": "Corp SSO",
        "attribute_mapping": "email = mail\ngiven_name = givenName",
        "default_groups": "Employees",
        "group_attribute": "memberOf",
        "group_mapping": "eng-all = Engineering",
        "email_domains": "corp.example",
        "sign_requests": "on",
        "active": "on",
    }
    return {k: v for k, v in (data | overrides).items() if v is not None}


def admin_actions(tenant, admin) -> set[str]:
    return set(AuditEvent.objects.filter(tenant=tenant, actor_id=str(admin.pk)).values_list("action", flat=True))
