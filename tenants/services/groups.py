"""The tenant directory's groups and memberships."""

from dataclasses import asdict

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from lumoauth.events.api import Ref, record, user_ref

from ..models import Group, Membership, Tenant, User


def group_ref(group: Group) -> Ref:
    return Ref("group", str(group.pk), group.name)


def _check_name_free(group: Group) -> None:
    taken = Group.objects.filter(tenant=group.tenant, name__iexact=group.name).exclude(pk=group.pk)
    if taken.exists():
        raise ValidationError({"name": "A group with this name already exists."})


@transaction.atomic
def create_group(
    tenant: Tenant, name: str, *, description: str = "", external_id: str = "", actor: Ref | None = None, request=None
) -> Group:
    group = Group(tenant=tenant, name=name, description=description, external_id=external_id)
    group.full_clean(validate_constraints=False)
    _check_name_free(group)
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError as exc:
        raise ValidationError({"name": "A group with this name already exists."}) from exc
    record("group.created", tenant=tenant, actor=actor, request=request, target=group_ref(group))
    return group


@transaction.atomic
def update_group(group: Group, *, actor: Ref | None = None, request=None, **changes) -> Group:
    unknown = set(changes) - {"name", "description", "external_id"}
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} here")
    changed = sorted(f for f, v in changes.items() if getattr(group, f) != v)
    if not changed:
        return group
    for field in changed:
        setattr(group, field, changes[field])
    group.full_clean(validate_constraints=False)
    _check_name_free(group)
    group.save()
    record(
        "group.updated",
        tenant=group.tenant,
        actor=actor,
        request=request,
        target=group_ref(group),
        details={"fields": changed},
    )
    return group


@transaction.atomic
def delete_group(group: Group, *, actor: Ref | None = None, request=None) -> None:
    target, tenant = group_ref(group), group.tenant
    group.delete()
    record("group.deleted", tenant=tenant, actor=actor, request=request, target=target)


def _same_tenant(group: Group, user: User) -> None:
    if group.tenant_id != user.tenant_id:
        raise ValidationError("A group and its members belong to the same tenant.")


@transaction.atomic
def add_member(group: Group, user: User, *, actor: Ref | None = None, request=None) -> bool:
    """Add `user` to `group`; False when they were already a member."""
    _same_tenant(group, user)
    _, created = Membership.objects.get_or_create(group=group, user=user)
    if created:
        record(
            "membership.added",
            tenant=group.tenant,
            actor=actor,
            request=request,
            target=group_ref(group),
            details={"user": asdict(user_ref(user))},
        )
    return created


@transaction.atomic
def remove_member(group: Group, user: User, *, actor: Ref | None = None, request=None) -> bool:
    """Remove `user` from `group`; False when they were not a member."""
    _same_tenant(group, user)
    deleted, _ = Membership.objects.filter(group=group, user=user).delete()
    if deleted:
        record(
            "membership.removed",
            tenant=group.tenant,
            actor=actor,
            request=request,
            target=group_ref(group),
            details={"user": asdict(user_ref(user))},
        )
    return bool(deleted)
