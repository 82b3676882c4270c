"""The tenant's connections to corporate SAML identity providers (each change audited)."""

import urllib.request

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from lumoauth.events.api import Ref, record

from ..models import IdPConnection
from ..sp_metadata import MAX_METADATA_BYTES, MetadataError, parse_idp_metadata

# Common attribute names (Okta, Entra ID, ADFS use URIs; many use these short names).
DEFAULT_ATTRIBUTE_MAPPING = {
    "email": "email",
    "given_name": "givenName",
    "family_name": "sn",
    "name": "displayName",
}


def fetch_metadata(url: str) -> bytes:
    """An IdP's metadata document from its URL (bounded in time and size)."""
    if not url.startswith(("https://", "http://")):
        raise ValidationError({"metadata_url": "Use an http(s) URL."})
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (scheme checked above)
            document = response.read(MAX_METADATA_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise ValidationError({"metadata_url": f"Could not fetch the metadata: {exc}"}) from exc
    if len(document) > MAX_METADATA_BYTES:
        raise ValidationError({"metadata_url": "The metadata document is too large."})
    return document


def connection_ref(connection: IdPConnection) -> Ref:
    return Ref("saml_idp_connection", str(connection.pk), connection.name)


@transaction.atomic
def create_connection(
    tenant,
    slug: str,
    name: str,
    metadata_xml: str | bytes | None = None,
    *,
    metadata_url: str = "",
    attribute_mapping=None,
    default_groups=None,
    group_attribute: str = "",
    group_mapping=None,
    email_domains=None,
    trust_email: bool = False,
    actor: Ref | None = None,
    request=None,
) -> IdPConnection:
    """A connection from the IdP's metadata, pasted (`metadata_xml`) or fetched (`metadata_url`)."""
    if metadata_xml is None:
        metadata_xml = fetch_metadata(metadata_url)
    try:
        parsed = parse_idp_metadata(metadata_xml)
    except MetadataError as exc:
        raise ValidationError({"metadata": str(exc)}) from exc
    connection = IdPConnection(
        tenant=tenant,
        slug=slug,
        name=name,
        entity_id=parsed.entity_id,
        sso_url=parsed.sso_url,
        sso_binding=parsed.sso_binding,
        slo_url=parsed.slo_url,
        certificate_pem=parsed.certificate_pem,
        attribute_mapping=dict(DEFAULT_ATTRIBUTE_MAPPING if attribute_mapping is None else attribute_mapping),
        default_groups=list(default_groups or []),
        group_attribute=group_attribute,
        group_mapping=dict(group_mapping or {}),
        email_domains=[d.lower() for d in email_domains or []],
        trust_email=trust_email,
    )
    connection.full_clean(validate_constraints=False)
    taken = IdPConnection.objects.filter(tenant=tenant)
    if taken.filter(slug=slug).exists() or taken.filter(entity_id=parsed.entity_id).exists():
        raise ValidationError({"slug": "This identity provider is already connected."})
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as exc:
        raise ValidationError({"slug": "This identity provider is already connected."}) from exc
    record(
        "saml.idp_connection.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=connection_ref(connection),
        details={"entity_id": connection.entity_id},
    )
    return connection
