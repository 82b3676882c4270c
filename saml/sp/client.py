"""The tenant as a SAML service provider: pysaml2 client configured per tenant from the database."""

import shutil

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.sigver import security_context

from lumoauth.urls_public import base_url

from ..credentials import credential_files
from ..idp.server import DIGEST_ALG, SIGN_ALG
from ..models import IdPConnection, NameIDFormat
from ..sp_metadata import idp_metadata_xml


def sp_urls(tenant, request=None) -> dict[str, str]:
    base = f"{base_url(request)}/t/{tenant.slug}/saml/sp"
    return {"entity_id": f"{base}/metadata", "acs": f"{base}/acs", "slo": f"{base}/slo", "login": f"{base}/login"}


def sp_config(tenant, request=None, connections=None) -> SPConfig:
    urls = sp_urls(tenant, request)
    files = credential_files(tenant)
    connections = connections if connections is not None else IdPConnection.objects.filter(tenant=tenant, active=True)
    config = SPConfig()
    config.load(
        {
            "entityid": urls["entity_id"],
            "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
            "key_file": files.key_file,
            "cert_file": files.cert_file,
            "encryption_keypairs": [{"key_file": files.key_file, "cert_file": files.cert_file}],
            "metadata": {"inline": [idp_metadata_xml(c) for c in connections]},
            "allow_unknown_attributes": True,
            "delete_tmpfiles": True,
            # A small clock skew between us and the IdP is tolerated (seconds).
            "accepted_time_diff": 60,
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(urls["acs"], BINDING_HTTP_POST)],
                        "single_logout_service": [(urls["slo"], BINDING_HTTP_REDIRECT)],
                    },
                    # Responses must be signed, in the Response or the Assertion (SAML core §5, profiles §4.1.3.5).
                    "want_response_signed": False,
                    "want_assertions_signed": False,
                    "want_assertions_or_response_signed": True,
                    "authn_requests_signed": True,
                    "allow_unsolicited": False,
                    "name_id_format": NameIDFormat.PERSISTENT,
                    "signing_algorithm": SIGN_ALG,
                    "digest_algorithm": DIGEST_ALG,
                }
            },
        }
    )
    return config


def sp_client(tenant, request=None) -> Saml2Client:
    return Saml2Client(sp_config(tenant, request))


def signed_sp_metadata(tenant, request=None) -> str:
    config = sp_config(tenant, request, connections=[])
    _, xml = sign_entity_descriptor(entity_descriptor(config), None, security_context(config), SIGN_ALG, DIGEST_ALG)
    return str(xml)
