"""Just-in-time provisioning and linking for sign-ins through external identity providers.

One implementation for every kind of connection (SAML now, OpenID Connect later): the connection
says who the person is (`subject`) and what it knows about them (`claims`, already mapped to user
fields); this finds or creates the account, keeps the mapped fields current, and manages groups.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from lumoauth.events.api import Ref, record, user_ref

from .models import FederatedIdentity, Group, Tenant, User
from .services.groups import add_member, create_group
from .services.users import EDITABLE_FIELDS, create_user, update_user

MAPPABLE_FIELDS = EDITABLE_FIELDS - {"username", "is_tenant_admin"}


class ProvisioningError(Exception):
    """Shown to the person: the sign-in cannot be completed (nothing has been written)."""


@dataclass
class ExternalIdentity:
    connection: str  # e.g. "saml:3"
    connection_label: str
    subject: str
    claims: dict = field(default_factory=dict)  # user field -> value
    groups: list[str] = field(default_factory=list)  # group names in this tenant
    email_verified_by_idp: bool = False


@contextmanager
def _refused_by_policy():
    """What the directory refuses (e.g. an email outside the tenant's allowed domains) refuses the sign-in."""
    try:
        yield
    except ValidationError as exc:
        raise ProvisioningError(" ".join(exc.messages)) from exc


def _username_for(tenant: Tenant, identity: ExternalIdentity) -> str:
    base = (identity.claims.get("preferred_username") or identity.claims.get("email") or identity.subject)[:120]
    candidate, n = base, 1
    while User.objects.filter(tenant=tenant, username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@transaction.atomic
def sign_in_externally(tenant: Tenant, identity: ExternalIdentity, *, link_verified_email: bool, request=None) -> User:
    """The account for this external identity: linked, created or refused."""
    actor = Ref("connection", identity.connection, identity.connection_label)
    claims = {k: v for k, v in identity.claims.items() if k in MAPPABLE_FIELDS and v not in (None, "")}
    link = (
        FederatedIdentity.objects.select_for_update()
        .filter(tenant=tenant, connection=identity.connection, subject=identity.subject)
        .select_related("user")
        .first()
    )
    if link is not None:
        user = link.user
        if not user.is_active:
            raise ProvisioningError("Your account is deactivated.")
        with _refused_by_policy():
            update_user(user, actor=actor, request=request, **claims)
    else:
        email = claims.get("email", "")
        existing = User.objects.filter(tenant=tenant, email__iexact=email).first() if email else None
        if existing is not None:
            # Linking to an existing account only when the connection is trusted to vouch for emails.
            if not (link_verified_email and identity.email_verified_by_idp):
                raise ProvisioningError("An account with this email already exists; ask an administrator to link it.")
            if not existing.is_active:
                raise ProvisioningError("Your account is deactivated.")
            user = existing
            with _refused_by_policy():
                update_user(user, actor=actor, request=request, **claims)
        else:
            if email:
                claims.setdefault("email_verified", identity.email_verified_by_idp)
            with _refused_by_policy():
                user = create_user(tenant, _username_for(tenant, identity), actor=actor, request=request, **claims)
        link = FederatedIdentity.objects.create(
            tenant=tenant, user=user, connection=identity.connection, subject=identity.subject
        )
        record(
            "identity.linked",
            tenant=tenant,
            actor=actor,
            request=request,
            target=user_ref(user),
            details={"connection": identity.connection},
        )
    for name in identity.groups:
        group = Group.objects.filter(tenant=tenant, name__iexact=name).first() or create_group(
            tenant, name, actor=actor, request=request
        )
        add_member(group, user, actor=actor, request=request)
    link.last_sign_in_at = timezone.now()
    link.save(update_fields=["last_sign_in_at"])
    return user
