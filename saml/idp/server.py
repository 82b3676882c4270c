"""The tenant's pysaml2 IdP, configured from the database for each request.

Algorithms are RSA-SHA256 and SHA-256 everywhere (pysaml2's defaults are SHA-1).
"""

import shutil
from dataclasses import dataclass

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2 import xmldsig as ds
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.server import Server
from saml2.sigver import security_context

from lumoauth.urls_public import base_url

from ..credentials import credential_files
from ..models import NameIDFormat, ServiceProvider
from ..sp_metadata import sp_metadata_xml

SIGN_ALG = ds.SIG_RSA_SHA256
DIGEST_ALG = ds.DIGEST_SHA256


@dataclass(frozen=True)
class IdPUrls:
    entity_id: str
    sso: str
    slo: str


def idp_urls(tenant, request=None) -> IdPUrls:
    base = f"{base_url(request)}/t/{tenant.slug}/saml/idp"
    # The reference documents use the metadata URL as the IdP's entity ID.
    return IdPUrls(entity_id=f"{base}/metadata", sso=f"{base}/sso", slo=f"{base}/slo")


def idp_config(tenant, request=None, service_providers=None) -> IdPConfig:
    urls = idp_urls(tenant, request)
    files = credential_files(tenant)
    sps = (
        service_providers
        if service_providers is not None
        else ServiceProvider.objects.filter(tenant=tenant, active=True)
    )
    config = IdPConfig()
    config.load(
        {
            "entityid": urls.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
            "key_file": files.key_file,
            "cert_file": files.cert_file,
            "encryption_keypairs": [{"key_file": files.key_file, "cert_file": files.cert_file}],
            "metadata": {"inline": [sp_metadata_xml(sp) for sp in sps]},
            "allow_unknown_attributes": True,
            "delete_tmpfiles": True,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(urls.sso, BINDING_HTTP_REDIRECT), (urls.sso, BINDING_HTTP_POST)],
                        "single_logout_service": [(urls.slo, BINDING_HTTP_REDIRECT), (urls.slo, BINDING_HTTP_POST)],
                    },
                    "name_id_format": list(NameIDFormat.values),
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
                        }
                    },
                    # Signed requests are required per SP (ServiceProvider.require_signed_requests).
                    "want_authn_requests_signed": False,
                    "signing_algorithm": SIGN_ALG,
                    "digest_algorithm": DIGEST_ALG,
                }
            },
        }
    )
    return config


def idp_server(tenant, request=None) -> Server:
    return Server(config=idp_config(tenant, request))


def signed_metadata(tenant, request=None) -> str:
    """The IdP's metadata document, signed with its own key."""
    config = idp_config(tenant, request, service_providers=[])
    descriptor = entity_descriptor(config)
    _, xml = sign_entity_descriptor(descriptor, None, security_context(config), SIGN_ALG, DIGEST_ALG)
    return str(xml)
