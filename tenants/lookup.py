"""Finding the active tenant of a URL, memoised for a few seconds (it is read on every request)."""

import copy

from lumoauth.memo import TTLMemo

from .models import Tenant

# A suspension reaches other processes within this many seconds, the changing process at once.
TENANT_MEMO_SECONDS = 5
_tenants = TTLMemo(TENANT_MEMO_SECONDS)


def active_tenant(slug: str) -> Tenant | None:
    tenant = _tenants.get(slug, lambda: Tenant.objects.filter(slug=slug, status=Tenant.Status.ACTIVE).first())
    return copy.copy(tenant) if tenant is not None else None  # each request gets its own instance


def forget_tenant(slug: str) -> None:
    _tenants.forget_changed(slug)
