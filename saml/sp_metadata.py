"""Service-provider metadata: read what a tenant admin pastes or uploads, and write the metadata
document pysaml2 needs for each registered SP (the database row is the one source of truth)."""

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from .credentials import certificate_body

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SUPPORTED_ACS_BINDINGS = (BINDING_POST,)
SUPPORTED_SLO_BINDINGS = (BINDING_REDIRECT, BINDING_POST)
MAX_METADATA_BYTES = 512 * 1024


class MetadataError(ValueError):
    pass


@dataclass
class SPMetadata:
    entity_id: str
    acs_endpoints: list[dict] = field(default_factory=list)
    slo_endpoints: list[dict] = field(default_factory=list)
    certificate_pem: str = ""
    nameid_formats: list[str] = field(default_factory=list)
    authn_requests_signed: bool = False
    want_assertions_signed: bool = False


def _pem(body: str) -> str:
    body = "".join(body.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def parse_sp_metadata(xml: str | bytes) -> SPMetadata:
    """The one SP described by `xml`. Refuses what is not SAML SP metadata, and XML attacks
    (entity expansion, external entities) through defusedxml."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    if not xml.strip() or len(xml) > MAX_METADATA_BYTES:
        raise MetadataError("Metadata is empty or too large.")
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise MetadataError(f"Not well-formed XML: {exc}") from exc
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        candidates = [
            e for e in root.findall(f"{{{MD}}}EntityDescriptor") if e.find(f"{{{MD}}}SPSSODescriptor") is not None
        ]
        if len(candidates) != 1:
            raise MetadataError("The metadata must describe exactly one service provider.")
        root = candidates[0]
    if root.tag != f"{{{MD}}}EntityDescriptor" or not root.get("entityID"):
        raise MetadataError("No EntityDescriptor with an entityID.")
    sp = root.find(f"{{{MD}}}SPSSODescriptor")
    if sp is None:
        raise MetadataError("The entity has no SPSSODescriptor: it is not a service provider.")
    found = SPMetadata(
        entity_id=root.get("entityID"),
        authn_requests_signed=sp.get("AuthnRequestsSigned", "false").lower() == "true",
        want_assertions_signed=sp.get("WantAssertionsSigned", "false").lower() == "true",
    )
    for position, acs in enumerate(sp.findall(f"{{{MD}}}AssertionConsumerService")):
        if acs.get("Binding") in SUPPORTED_ACS_BINDINGS and acs.get("Location"):
            found.acs_endpoints.append(
                {"url": acs.get("Location"), "binding": acs.get("Binding"), "index": int(acs.get("index", position))}
            )
    if not found.acs_endpoints:
        raise MetadataError("No AssertionConsumerService with the HTTP-POST binding.")
    for slo in sp.findall(f"{{{MD}}}SingleLogoutService"):
        if slo.get("Binding") in SUPPORTED_SLO_BINDINGS and slo.get("Location"):
            found.slo_endpoints.append({"url": slo.get("Location"), "binding": slo.get("Binding")})
    for descriptor in sp.findall(f"{{{MD}}}KeyDescriptor"):
        cert = descriptor.find(f".//{{{DS}}}X509Certificate")
        if cert is not None and (cert.text or "").strip() and descriptor.get("use") in (None, "signing", "encryption"):
            found.certificate_pem = _pem(cert.text)
            if descriptor.get("use") != "encryption":
                break
    found.nameid_formats = [(n.text or "").strip() for n in sp.findall(f"{{{MD}}}NameIDFormat") if n.text]
    return found


def sp_metadata_xml(sp) -> str:
    """Metadata for pysaml2's store, generated from a ServiceProvider row."""
    parts = [
        f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID={quoteattr(sp.entity_id)}>',
        f'<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'AuthnRequestsSigned="{"true" if sp.require_signed_requests else "false"}">',
    ]
    if sp.certificate_pem:
        body = escape(certificate_body(sp.certificate_pem))
        for use in ("signing", "encryption"):
            parts.append(
                f'<md:KeyDescriptor use="{use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{body}'
                "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            )
    for slo in sp.slo_endpoints:
        parts.append(f"<md:SingleLogoutService Binding={quoteattr(slo['binding'])} Location={quoteattr(slo['url'])}/>")
    parts.append(f"<md:NameIDFormat>{escape(sp.nameid_format)}</md:NameIDFormat>")
    for acs in sp.acs_endpoints:
        parts.append(
            f"<md:AssertionConsumerService Binding={quoteattr(acs['binding'])} "
            f'Location={quoteattr(acs["url"])} index="{int(acs.get("index", 0))}"/>'
        )
    parts.append("</md:SPSSODescriptor></md:EntityDescriptor>")
    return "".join(parts)
