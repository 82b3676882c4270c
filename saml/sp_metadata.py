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


def _entity(xml: str | bytes, role: str, label: str):
    """The one EntityDescriptor in `xml` that has a `role` descriptor. Refuses what is not SAML
    metadata, and XML attacks (entity expansion, external entities) through defusedxml."""
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    if not xml.strip() or len(xml) > MAX_METADATA_BYTES:
        raise MetadataError("Metadata is empty or too large.")
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise MetadataError(f"Not well-formed XML: {exc}") from exc
    if root.tag == f"{{{MD}}}EntitiesDescriptor":
        candidates = [e for e in root.findall(f"{{{MD}}}EntityDescriptor") if e.find(f"{{{MD}}}{role}") is not None]
        if len(candidates) != 1:
            raise MetadataError(f"The metadata must describe exactly one {label}.")
        root = candidates[0]
    if root.tag != f"{{{MD}}}EntityDescriptor" or not root.get("entityID"):
        raise MetadataError("No EntityDescriptor with an entityID.")
    if root.find(f"{{{MD}}}{role}") is None:
        raise MetadataError(f"The entity has no {role}: it is not a {label}.")
    return root


def parse_sp_metadata(xml: str | bytes) -> SPMetadata:
    """The one SP described by `xml`."""
    root = _entity(xml, "SPSSODescriptor", "service provider")
    sp = root.find(f"{{{MD}}}SPSSODescriptor")
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


@dataclass
class IdPMetadata:
    entity_id: str
    sso_url: str
    sso_binding: str
    slo_url: str = ""
    certificate_pem: str = ""


def parse_idp_metadata(xml: str | bytes) -> IdPMetadata:
    """The one IdP described by `xml` (with its signing certificate)."""
    root = _entity(xml, "IDPSSODescriptor", "identity provider")
    idp = root.find(f"{{{MD}}}IDPSSODescriptor")
    services = {s.get("Binding"): s.get("Location") for s in idp.findall(f"{{{MD}}}SingleSignOnService")}
    binding = next((b for b in (BINDING_REDIRECT, BINDING_POST) if services.get(b)), None)
    if binding is None:
        raise MetadataError("No SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.")
    slo = next(
        (
            s.get("Location")
            for s in idp.findall(f"{{{MD}}}SingleLogoutService")
            if s.get("Binding") == BINDING_REDIRECT and s.get("Location")
        ),
        "",
    )
    certificate = ""
    for descriptor in idp.findall(f"{{{MD}}}KeyDescriptor"):
        cert = descriptor.find(f".//{{{DS}}}X509Certificate")
        if cert is not None and (cert.text or "").strip() and descriptor.get("use") in (None, "signing"):
            certificate = _pem(cert.text)
            break
    if not certificate:
        raise MetadataError("The identity provider's metadata has no signing certificate.")
    return IdPMetadata(
        entity_id=root.get("entityID"),
        sso_url=services[binding],
        sso_binding=binding,
        slo_url=slo,
        certificate_pem=certificate,
    )


def idp_metadata_xml(connection) -> str:
    """Metadata for pysaml2's SP store, generated from an IdPConnection row."""
    body = escape(certificate_body(connection.certificate_pem))
    parts = [
        f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID={quoteattr(connection.entity_id)}>',
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">',
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{body}'
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
    ]
    if connection.slo_url:
        parts.append(
            f"<md:SingleLogoutService Binding={quoteattr(BINDING_REDIRECT)} Location={quoteattr(connection.slo_url)}/>"
        )
    parts.append(
        f"<md:SingleSignOnService Binding={quoteattr(connection.sso_binding)} "
        f"Location={quoteattr(connection.sso_url)}/>"
    )
    parts.append("</md:IDPSSODescriptor></md:EntityDescriptor>")
    return "".join(parts)


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
