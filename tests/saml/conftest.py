"""A real pysaml2 service provider as the peer of the tenant's IdP, with its own key and certificate."""

import datetime
import shutil
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import IdPConfig, SPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

from saml.services.idp_connections import create_connection

SP_ENTITY_ID = "https://sp.example.com/metadata"
SP_ACS = "https://sp.example.com/acs"
SP_SLO = "https://sp.example.com/slo"


def make_keypair(directory, name="sp"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / f"{name}.key", directory / f"{name}.crt"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


def sp_config(keypair, idp_metadata: str | None = None, *, sign_requests=False, entity_id=SP_ENTITY_ID):
    key_file, cert_file = keypair
    config = SPConfig()
    config.load(
        {
            "entityid": entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": key_file,
            "cert_file": cert_file,
            "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
            "metadata": {"inline": [idp_metadata]} if idp_metadata else {},
            "allow_unknown_attributes": True,
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(SP_ACS, BINDING_HTTP_POST)],
                        "single_logout_service": [(SP_SLO, BINDING_HTTP_REDIRECT)],
                    },
                    "logout_requests_signed": True,
                    "want_response_signed": True,
                    "want_assertions_signed": True,
                    "authn_requests_signed": sign_requests,
                    "allow_unsolicited": True,
                    "name_id_format": NAMEID_FORMAT_EMAILADDRESS,
                    "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                    "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
                }
            },
        }
    )
    return config


def sp_metadata(config) -> str:
    return create_metadata_string(None, config=config, sign=False).decode()


@pytest.fixture
def idp_base(live_server, tenant):
    return f"{live_server.url}/t/{tenant.slug}/saml/idp"


@pytest.fixture
def saml_sp(tmp_path, idp_base, tenant):
    """(Saml2Client, its config) after registering the SP with the tenant and loading the IdP's metadata."""
    from saml.services.service_providers import register_from_metadata

    keypair = make_keypair(tmp_path, "sp")
    register_from_metadata(tenant, sp_metadata(sp_config(keypair)), name="Example SP")
    idp_metadata = requests.get(f"{idp_base}/metadata", timeout=10).text
    config = sp_config(keypair, idp_metadata)
    return Saml2Client(config), config


__all__ = ["BINDING_HTTP_POST", "BINDING_HTTP_REDIRECT", "SP_ACS", "SP_ENTITY_ID"]


IDP_ENTITY = "https://idp.corp.example/metadata"
IDP_SSO = "https://idp.corp.example/sso"
IDP_SLO = "https://idp.corp.example/slo"


def corporate_idp(keypair, sp_metadata: list[str] | None = None) -> Server:
    key_file, cert_file = keypair
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP_ENTITY,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": key_file,
            "cert_file": cert_file,
            "metadata": {"inline": sp_metadata} if sp_metadata else {},
            "allow_unknown_attributes": True,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(IDP_SSO, BINDING_HTTP_REDIRECT)],
                        "single_logout_service": [(IDP_SLO, BINDING_HTTP_REDIRECT)],
                    },
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                        }
                    },
                    "want_authn_requests_signed": True,
                }
            },
        }
    )
    return Server(config=config)


@pytest.fixture
def corp(tmp_path, tenant, live_server):
    """(pysaml2 IdP server, connection) with metadata exchanged both ways over HTTP."""
    keypair = make_keypair(tmp_path, "corp-idp")
    idp_metadata = create_metadata_string(None, config=corporate_idp(keypair).config, sign=False).decode()
    connection = create_connection(
        tenant,
        "corp",
        "Corp SSO",
        idp_metadata,
        default_groups=["Employees"],
        group_attribute="memberOf",
        group_mapping={"eng-all": "Engineering"},
        email_domains=["corp.example"],
    )
    sp_metadata = requests.get(f"{live_server.url}/t/acme/saml/sp/metadata", timeout=10).text
    # A second SP the corporate IdP knows, to mint responses meant for someone else.
    other_sp = sp_metadata.replace(f"{live_server.url}/t/acme/saml/sp/metadata", "https://someone-else.example/sp")
    return corporate_idp(keypair, [sp_metadata, other_sp]), connection


# The protocol bridge tests use the OAuth fixtures too.
from tests.oauth.conftest import make_client, web_client  # noqa: E402, F401


def answer_authn_request(
    idp: Server,
    location: str,
    *,
    subject="emp-001",
    email="jo@corp.example",
    given="Jo",
    groups=("eng-all",),
    sign_assertion=True,
    audience_override=None,
) -> dict:
    """What the corporate IdP answers to our AuthnRequest (the HTTP-Redirect URL we sent the browser
    to): a signed Response in an auto-submitting HTTP-POST form (pysaml2's `apply_binding`)."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    request = idp.parse_authn_request(
        query["SAMLRequest"],
        BINDING_HTTP_REDIRECT,
        sigalg=query.get("SigAlg"),
        signature=query.get("Signature"),
        relay_state=query.get("RelayState"),
    )
    args = idp.response_args(request.message, [BINDING_HTTP_POST])
    if audience_override:
        args["sp_entity_id"] = audience_override
    response = idp.create_authn_response(
        {"email": [email], "givenName": [given], "sn": ["Doe"], "memberOf": list(groups)},
        userid=subject,
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
        sign_assertion=sign_assertion,
        sign_response=sign_assertion,
        **args,
    )
    return idp.apply_binding(BINDING_HTTP_POST, str(response), args["destination"], "", response=True)
