"""Reverse tenant URLs under the prefix the request came in on (/t/<slug>/ or /orgs/<slug>/)."""

from django.urls import reverse

from .models import Tenant

NAMESPACES = ("tenant", "tenant-alias")


def tenant_url(request, name: str, tenant: Tenant | None = None, **kwargs) -> str:
    tenant = tenant or request.tenant
    match = getattr(request, "resolver_match", None)
    namespace = match.namespace if match and match.namespace in NAMESPACES else "tenant"
    return reverse(f"{namespace}:{name}", kwargs={"tenant_slug": tenant.slug, **kwargs})
