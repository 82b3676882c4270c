"""The tenant directory's users: create, change, set or reset the password, deactivate, delete, unlink."""

import secrets
from typing import Any

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from lumoauth.events.api import Ref, record, user_ref

from ..models import FederatedIdentity, Tenant, User
from ..policy import check_email_domain, validate_password_for
from ..signin.session import current_key
from .sessions import end_user_sessions

# Claims and flags an admin (or a provisioning protocol) may set through update_user().
EDITABLE_FIELDS = frozenset(
    {
        "username",
        "email",
        "email_verified",
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "phone_number",
        "phone_number_verified",
        "address",
        "is_tenant_admin",
        "external_id",
        "enterprise",
    }
)


class DirectoryConflict(ValidationError):
    """The username or email is already taken in this tenant."""


def _save_unique(user: User, **save_kwargs: Any) -> None:
    conflict = User.objects.filter(tenant=user.tenant).exclude(pk=user.pk)
    if conflict.filter(username__iexact=user.username).exists():
        raise DirectoryConflict({"username": "This username is already taken."})
    if user.email and conflict.filter(email__iexact=user.email).exists():
        raise DirectoryConflict({"email": "This email address is already in use."})
    try:
        with transaction.atomic():
            user.save(**save_kwargs)
    except IntegrityError as exc:  # a concurrent insert won the race
        raise DirectoryConflict("This username or email is already taken.") from exc


def _set_validated_password(user: User, password: str | None) -> None:
    if password is None:
        user.set_unusable_password()
    else:
        if user.tenant_id:  # the tenant's own password rules (tenants/policy.py)
            validate_password_for(user.tenant, password, user)
        else:  # platform operators
            validate_password(password, user)
        user.set_password(password)


@transaction.atomic
def create_user(
    tenant: Tenant,
    username: str,
    *,
    email: str = "",
    password: str | None = None,
    actor: Ref | None = None,
    request=None,
    **claims: Any,
) -> User:
    """Create a directory user. Without a password the account can only sign in through a
    federated identity or a password reset."""
    unknown = set(claims) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"unknown user fields {sorted(unknown)}")
    user = User(tenant=tenant, username=username, email=BaseUserManager.normalize_email(email), **claims)
    user.full_clean(exclude=["password"], validate_constraints=False)
    check_email_domain(tenant, user.email)
    _set_validated_password(user, password)
    _save_unique(user)
    record(
        "user.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=user_ref(user),
        details={"email": user.email, "is_tenant_admin": user.is_tenant_admin},
    )
    return user


@transaction.atomic
def create_operator(username: str, *, email: str = "", password: str | None = None) -> User:
    """A platform operator: no tenant, signs in to Django admin only."""
    user = User(username=username, email=BaseUserManager.normalize_email(email), is_staff=True, is_superuser=True)
    user.full_clean(exclude=["password"], validate_constraints=False)
    _set_validated_password(user, password)
    if User.objects.filter(tenant__isnull=True, username__iexact=username).exists():
        raise DirectoryConflict({"username": "This username is already taken."})
    user.save()
    record("operator.created", target=user_ref(user))
    return user


@transaction.atomic
def update_user(user: User, *, actor: Ref | None = None, request=None, **changes: Any) -> User:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} here")
    if "email" in changes:
        changes["email"] = BaseUserManager.normalize_email(changes["email"])
    changed = sorted(f for f, v in changes.items() if getattr(user, f) != v)
    if not changed:
        return user
    for field in changed:
        setattr(user, field, changes[field])
    user.full_clean(exclude=["password"], validate_constraints=False)
    if "email" in changed:
        check_email_domain(user.tenant, user.email)
    _save_unique(user)
    record(
        "user.updated",
        tenant=user.tenant,
        actor=actor,
        request=request,
        target=user_ref(user),
        details={"fields": changed},
    )
    return user


@transaction.atomic
def set_password(user: User, password: str, *, actor: Ref | None = None, request=None, generated: bool = False) -> User:
    """Set a new password (validated against the password policy). The user's sessions end, all but
    the one making this request when it is the user's own (changing one's own password)."""
    _set_validated_password(user, password)
    user.save(update_fields=["password", "updated_at"])
    record(
        "user.password_changed",
        tenant=user.tenant,
        actor=actor,
        request=request,
        target=user_ref(user),
        details={"generated": generated},
    )
    keep = current_key(request, user.tenant, user) if request is not None and user.tenant_id else None
    end_user_sessions(user, actor=actor, request=request, reason="password_changed", keep_key=keep)
    return user


# 20 characters from an alphabet without look-alikes (0/O, 1/l/I): about 115 bits.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password() -> str:
    """A random password, in groups of five for reading it out."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(20))
    return "-".join(chars[i : i + 5] for i in range(0, 20, 5))


def set_random_password(user: User, *, actor: Ref | None = None, request=None) -> str:
    """Reset the password to a random one and return it (to be shown once, never stored in clear)."""
    for _ in range(3):  # a random value failing the validators (similar to the username...) is unlikely
        password = generate_password()
        try:
            set_password(user, password, actor=actor, request=request, generated=True)
        except ValidationError:
            continue
        return password
    raise ValidationError("Could not generate an acceptable password; try again.")


@transaction.atomic
def set_active(user: User, active: bool, *, actor: Ref | None = None, request=None) -> User:
    """Deactivate (or reactivate) a user. A deactivated user cannot sign in and their sessions end."""
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active", "updated_at"])
    record(
        "user.activated" if active else "user.deactivated",
        tenant=user.tenant,
        actor=actor,
        request=request,
        target=user_ref(user),
    )
    if not active:
        end_user_sessions(user, actor=actor, request=request, reason="deactivated")
    return user


@transaction.atomic
def delete_user(user: User, *, actor: Ref | None = None, request=None) -> None:
    """Delete a user with everything that is theirs, in one transaction: memberships, linked
    identities, sign-in sessions (ended first, so it is on record), OAuth consents, codes and
    tokens (database cascades). The subject identifier is never handed out again (it is a random
    UUID with a unique constraint)."""
    target = user_ref(user)
    tenant = user.tenant
    end_user_sessions(user, actor=actor, request=request, reason="deleted")
    user.delete()
    record("user.deleted", tenant=tenant, actor=actor, request=request, target=target)


@transaction.atomic
def unlink_identity(identity: FederatedIdentity, *, actor: Ref | None = None, request=None) -> None:
    """Remove the link between an account here and its identity at an external IdP. The next sign-in
    through that connection provisions or links again by its usual rules."""
    user = identity.user
    details = {"connection": identity.connection, "subject": identity.subject[:255]}
    identity.delete()
    record(
        "identity.unlinked", tenant=user.tenant, actor=actor, request=request, target=user_ref(user), details=details
    )
