"""A tenant's authorization-server switches, kept in `Tenant.settings["oauth"]` and changed only
here (audited as `tenant.updated`)."""

from lumoauth.events.api import Ref
from tenants.models import Tenant
from tenants.services.tenants import update_tenant

REQUIRE_PAR = "require_pushed_authorization_requests"


def _oauth_settings(tenant: Tenant) -> dict:
    value = (tenant.settings or {}).get("oauth")
    return value if isinstance(value, dict) else {}


def requires_pushed_authorization_requests(tenant: Tenant) -> bool:
    """RFC 9126 §5: every authorization request of this tenant must be pushed."""
    return _oauth_settings(tenant).get(REQUIRE_PAR) is True


def set_requires_pushed_authorization_requests(
    tenant: Tenant, required: bool, *, actor: Ref | None = None, request=None
) -> Tenant:
    settings = dict(tenant.settings or {})
    settings["oauth"] = {**_oauth_settings(tenant), REQUIRE_PAR: bool(required)}
    return update_tenant(tenant, actor=actor, request=request, details={"oauth": [REQUIRE_PAR]}, settings=settings)
