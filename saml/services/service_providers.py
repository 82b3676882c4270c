"""Registering the tenant's SAML service providers (each change audited)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from lumoauth.events.api import Ref, record
from tenants.services.users import EDITABLE_FIELDS

from ..models import NameIDFormat, ServiceProvider
from ..sp_metadata import MetadataError, parse_sp_metadata

# Released unless the admin chooses otherwise: SAML attribute name -> user field.
DEFAULT_ATTRIBUTE_RELEASE = {
    "email": "email",
    "givenName": "given_name",
    "sn": "family_name",
    "displayName": "name",
    "uid": "username",
}
# What may be released (saml/idp/sso.py::released_attributes reads these off the user): the claims,
# the subject, the username and the group names; never credentials, flags or JSON blobs.
RELEASABLE_FIELDS = frozenset(EDITABLE_FIELDS - {"is_tenant_admin", "address", "enterprise"} | {"sub", "groups"})
MAX_ATTRIBUTE_NAME = 255


def validate_attribute_release(release) -> None:
    """{SAML attribute name: user field}; unknown fields and odd names are refused."""
    if not isinstance(release, dict):
        raise ValidationError({"attribute_release": "Expected SAML attribute names mapped to user fields."})
    problems = []
    for attribute, field in release.items():
        if not isinstance(attribute, str) or not attribute.strip() or len(attribute) > MAX_ATTRIBUTE_NAME:
            problems.append(f"Attribute name {attribute!r} must be 1 to {MAX_ATTRIBUTE_NAME} characters.")
        elif any(c.isspace() for c in attribute):
            problems.append(f"Attribute name {attribute!r} must not contain spaces.")
        if not isinstance(field, str) or field not in RELEASABLE_FIELDS:
            problems.append(f"{field!r} is not a user field that can be released.")
    if problems:
        raise ValidationError({"attribute_release": problems})


def sp_ref(sp: ServiceProvider) -> Ref:
    return Ref("saml_sp", str(sp.pk), sp.name or sp.entity_id)


@transaction.atomic
def register_from_metadata(
    tenant,
    metadata_xml: str | bytes,
    *,
    name: str = "",
    nameid_format: str | None = None,
    attribute_release: dict | None = None,
    actor: Ref | None = None,
    request=None,
) -> ServiceProvider:
    try:
        parsed = parse_sp_metadata(metadata_xml)
    except MetadataError as exc:
        raise ValidationError({"metadata": str(exc)}) from exc
    if nameid_format is None:
        offered = [f for f in parsed.nameid_formats if f in NameIDFormat.values]
        nameid_format = offered[0] if offered else NameIDFormat.EMAIL
    if nameid_format not in NameIDFormat.values:
        raise ValidationError({"nameid_format": "Unsupported NameID format."})
    if attribute_release is not None:
        validate_attribute_release(attribute_release)
    sp = ServiceProvider(
        tenant=tenant,
        name=name or parsed.entity_id,
        entity_id=parsed.entity_id,
        acs_endpoints=parsed.acs_endpoints,
        slo_endpoints=parsed.slo_endpoints,
        certificate_pem=parsed.certificate_pem,
        nameid_format=nameid_format,
        attribute_release=dict(DEFAULT_ATTRIBUTE_RELEASE if attribute_release is None else attribute_release),
        require_signed_requests=parsed.authn_requests_signed,
    )
    if sp.require_signed_requests and not sp.certificate_pem:
        raise ValidationError({"metadata": "Signed requests need the SP's certificate in its metadata."})
    if ServiceProvider.objects.filter(tenant=tenant, entity_id=sp.entity_id).exists():
        raise ValidationError({"metadata": "A service provider with this entity ID is already registered."})
    try:
        with transaction.atomic():
            sp.save()
    except IntegrityError as exc:
        raise ValidationError({"metadata": "A service provider with this entity ID is already registered."}) from exc
    record(
        "saml.sp.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=sp_ref(sp),
        details={"entity_id": sp.entity_id, "nameid_format": sp.nameid_format},
    )
    return sp


EDITABLE = {
    "name",
    "nameid_format",
    "attribute_release",
    "sign_response",
    "sign_assertion",
    "encrypt_assertion",
    "require_signed_requests",
    "active",
}


@transaction.atomic
def update_service_provider(
    sp: ServiceProvider, *, actor: Ref | None = None, request=None, **changes
) -> ServiceProvider:
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} here")
    if "attribute_release" in changes:
        validate_attribute_release(changes["attribute_release"])
    for name, value in changes.items():
        setattr(sp, name, value)
    if sp.encrypt_assertion and not sp.certificate_pem:
        raise ValidationError({"encrypt_assertion": "Encryption needs the SP's certificate."})
    if sp.require_signed_requests and not sp.certificate_pem:
        # Without the SP's key, no request could be verified, so every sign-in would be refused.
        raise ValidationError({"require_signed_requests": "Signed requests need the SP's certificate."})
    sp.full_clean()
    sp.save()
    record(
        "saml.sp.updated",
        tenant=sp.tenant,
        actor=actor,
        request=request,
        target=sp_ref(sp),
        details={"fields": sorted(changes)},
    )
    return sp


@transaction.atomic
def delete_service_provider(sp: ServiceProvider, *, actor: Ref | None = None, request=None) -> None:
    target, tenant = sp_ref(sp), sp.tenant
    sp.delete()
    record("saml.sp.deleted", tenant=tenant, actor=actor, request=request, target=target)
