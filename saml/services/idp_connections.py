"""The tenant's connections to corporate SAML identity providers (each change audited)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from lumoauth import outbound
from lumoauth.events.api import Ref, record
from tenants.connection_rules import RuleNames, check_provisioning_rules
from tenants.domains.claims import claim_domains
from tenants.federation import MAPPABLE_FIELDS
from tenants.models import FederatedIdentity

from ..models import IdPConnection
from ..sp_metadata import MAX_METADATA_BYTES, MetadataError, parse_idp_metadata

# Common attribute names (Okta, Entra ID, ADFS use URIs; many use these short names).
DEFAULT_ATTRIBUTE_MAPPING = {
    "email": "email",
    "given_name": "givenName",
    "family_name": "sn",
    "name": "displayName",
}
# User fields an IdP attribute may fill in (tenants/federation.py applies them as text; the
# verification flags and JSON fields are decided here, not by the IdP's attributes).
MAPPED_FIELDS = frozenset(MAPPABLE_FIELDS - {"email_verified", "phone_number_verified", "address", "enterprise"})
RULE_NAMES = RuleNames(
    mapping="attribute_mapping",
    group_key="group_attribute",
    source="attribute",
    sources="SAML attribute names",
    provider="an identity provider",
    value="IdP value",
)


def _domains(domains):
    """Lower-cased, without repeats (anything that is not a list of strings is left to validation)."""
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        return domains
    return list(dict.fromkeys(d.strip().lower() for d in domains))


def fetch_metadata(url: str) -> bytes:
    """An IdP's metadata document from its URL (bounded in time and size)."""
    if not url.startswith(("https://", "http://")):
        raise ValidationError({"metadata_url": "Use an http(s) URL."})
    try:
        # The SSRF policy (lumoauth/outbound.py): no private addresses, bounded in time and size.
        response = outbound.fetch(url, timeout=10, max_bytes=MAX_METADATA_BYTES, follow_redirects=3)
    except (outbound.OutboundRefused, outbound.OutboundError) as exc:
        raise ValidationError({"metadata_url": f"Could not fetch the metadata: {exc}"}) from exc
    if response.status_code != 200:
        raise ValidationError({"metadata_url": f"Could not fetch the metadata: HTTP {response.status_code}."})
    if response.truncated:
        raise ValidationError({"metadata_url": "The metadata document is too large."})
    return response.body


def connection_ref(connection: IdPConnection) -> Ref:
    return Ref("saml_idp_connection", str(connection.pk), connection.name)


def _validate_rules(connection: IdPConnection) -> None:
    """Attribute mapping, JIT group rules and email domains hold what sign-in can use."""
    errors: dict[str, list[str]] = {}

    def refuse(field, message):
        errors.setdefault(field, []).append(message)

    check_provisioning_rules(connection, RULE_NAMES, MAPPED_FIELDS, refuse)
    if errors:
        raise ValidationError(errors)


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
    source = "metadata" if metadata_xml is not None else "metadata_url"
    if metadata_xml is None:
        metadata_xml = fetch_metadata(metadata_url)
    try:
        parsed = parse_idp_metadata(metadata_xml)
    except MetadataError as exc:
        raise ValidationError({source: str(exc)}) from exc
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
        email_domains=_domains(list(email_domains or [])),
        trust_email=trust_email,
    )
    connection.full_clean(validate_constraints=False)
    _validate_rules(connection)
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
    # Routing by these domains waits for the tenant to prove it controls them (DNS TXT record).
    claim_domains(tenant, connection.email_domains, actor=actor, request=request)
    return connection


EDITABLE = {
    "name",
    "attribute_mapping",
    "default_groups",
    "group_attribute",
    "group_mapping",
    "email_domains",
    "trust_email",
    "sign_requests",
    "active",
}


@transaction.atomic
def update_connection(connection: IdPConnection, *, actor: Ref | None = None, request=None, **changes) -> IdPConnection:
    """Change what an admin may change; the entity ID, endpoints and certificate come from metadata."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} here")
    if "email_domains" in changes:
        changes["email_domains"] = _domains(changes["email_domains"])
    for name, value in changes.items():
        setattr(connection, name, value)
    connection.full_clean(validate_constraints=False)
    _validate_rules(connection)
    connection.save()
    record(
        "saml.idp_connection.updated",
        tenant=connection.tenant,
        actor=actor,
        request=request,
        target=connection_ref(connection),
        details={"fields": sorted(changes)},
    )
    if "email_domains" in changes:
        claim_domains(connection.tenant, connection.email_domains, actor=actor, request=request)
    return connection


@transaction.atomic
def delete_connection(connection: IdPConnection, *, actor: Ref | None = None, request=None) -> None:
    """Users it provisioned stay (they can still sign in another way); their links to it go with it,
    so a later connection with the same id never inherits them."""
    target, tenant = connection_ref(connection), connection.tenant
    unlinked, _ = FederatedIdentity.objects.filter(tenant=tenant, connection=connection.connection_key).delete()
    details = {"entity_id": connection.entity_id, "identities_unlinked": unlinked}
    connection.delete()
    record("saml.idp_connection.deleted", tenant=tenant, actor=actor, request=request, target=target, details=details)
