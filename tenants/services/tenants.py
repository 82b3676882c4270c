"""Creating and suspending tenants (platform operators)."""

from django.db import transaction

from lumoauth.events.api import Ref, record

from ..lookup import forget_tenant
from ..models import Tenant
from ..signing_keys.service import ensure_keys


def tenant_ref(tenant: Tenant) -> Ref:
    return Ref("tenant", str(tenant.pk), tenant.slug)


@transaction.atomic
def create_tenant(slug: str, name: str, *, actor: Ref | None = None, request=None, settings=None) -> Tenant:
    tenant = Tenant(slug=slug, name=name, settings=settings or {})
    tenant.full_clean()
    tenant.save()
    record(
        "tenant.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=tenant_ref(tenant),
        details={"slug": slug, "name": name},
    )
    # Keys from the start: the tenant's JWKS is never empty and its first token needs no key creation.
    ensure_keys(tenant, actor=actor, request=request)
    return tenant


@transaction.atomic
def set_tenant_status(tenant: Tenant, status: str, *, actor: Ref | None = None, request=None) -> Tenant:
    if status not in Tenant.Status.values:
        raise ValueError(f"unknown tenant status {status!r}")
    if tenant.status == status:
        return tenant
    tenant.status = status
    tenant.save(update_fields=["status", "updated_at"])
    forget_tenant(tenant.slug)
    action = "tenant.suspended" if status == Tenant.Status.SUSPENDED else "tenant.activated"
    record(action, tenant=tenant, actor=actor, request=request, target=tenant_ref(tenant))
    return tenant


@transaction.atomic
def update_tenant(
    tenant: Tenant, *, actor: Ref | None = None, request=None, details: dict | None = None, **changes
) -> Tenant:
    allowed = {"name", "settings"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} here")
    for field, value in changes.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    tenant.save()
    forget_tenant(tenant.slug)
    record(
        "tenant.updated",
        tenant=tenant,
        actor=actor,
        request=request,
        target=tenant_ref(tenant),
        details={"fields": sorted(changes)} | (details or {}),
    )
    return tenant
