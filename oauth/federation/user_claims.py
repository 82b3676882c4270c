"""From the provider's claims to the ExternalIdentity the shared JIT code (tenants/federation.py) uses."""

from django.core.exceptions import ValidationError

from tenants.federation import MAPPABLE_FIELDS, ExternalIdentity
from tenants.models import User

from .models import OIDCConnection

# User fields a claim may fill in: text fields only. The verification flags are decided from
# email_verified below, and JSON fields (address, enterprise) are not mapped from claims.
MAPPED_FIELDS = frozenset(MAPPABLE_FIELDS - {"email_verified", "phone_number_verified", "address", "enterprise"})
DEFAULT_CLAIM_MAPPING = {
    "email": "email",
    "name": "name",
    "given_name": "given_name",
    "family_name": "family_name",
    "preferred_username": "preferred_username",
}
MAX_CLAIM_TEXT = 2048
MAX_GROUP_VALUES = 500


def claim_value(claims: dict, path: str):
    """The claim at `path`; dots reach into objects ("realm_access.roles")."""
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _text(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text[:MAX_CLAIM_TEXT] if text else None
    return None  # lists and objects do not fill a text field


def _fits(field: str, text: str) -> bool:
    """A value the user field accepts (length, URL or email syntax): an odd optional claim is dropped
    rather than refusing the whole sign-in."""
    try:
        User._meta.get_field(field).clean(text, None)
    except ValidationError:
        return False
    return True


def email_verified(claims: dict) -> bool:
    """True only when the provider asserts it (OIDC Core §5.1). Some providers send the string "true"."""
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _verified_email(claims: dict, email: str | None) -> bool:
    """email_verified speaks of the `email` claim: it vouches for the mapped email only if that is it."""
    return bool(email) and email_verified(claims) and email.lower() == str(claims.get("email", "")).strip().lower()


def external_identity(connection: OIDCConnection, subject: str, claims: dict) -> ExternalIdentity:
    mapped = {}
    for field, path in connection.claim_mapping.items():
        text = _text(claim_value(claims, path)) if field in MAPPED_FIELDS else None
        if text is not None and _fits(field, text):
            mapped[field] = text
    groups = list(connection.default_groups)
    if connection.group_claim:
        values = claim_value(claims, connection.group_claim)
        values = [values] if isinstance(values, str) else values if isinstance(values, list) else []
        for value in values[:MAX_GROUP_VALUES]:
            name = connection.group_mapping.get(str(value)) if isinstance(value, str | int) else None
            if name and name not in groups:
                groups.append(name)
    return ExternalIdentity(
        connection=connection.connection_key,
        connection_label=connection.name,
        subject=subject[:512],
        claims=mapped,
        groups=groups,
        email_verified_by_idp=_verified_email(claims, mapped.get("email")),
    )
