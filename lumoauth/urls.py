"""Root URLs. Everything a tenant owns lives under /t/<slug>/ and, as an alias, /orgs/<slug>/."""

from django.contrib import admin
from django.urls import include, path

from oauth.endpoints import discovery

from . import health, views
from .observability import metrics

# Each app adds its tenant-scoped URLs here; TenantMiddleware turns <tenant_slug> into request.tenant.
tenant_patterns = [
    path("", include("tenants.urls")),
    path("", include("oauth.urls")),
    path("", include("oauth.federation.urls")),  # inbound OpenID Connect sign-in
    path("", include("saml.urls")),
    path("", include("scim.urls")),
    path("", include("portal.urls")),
    path("", include("lumoauth.webhooks.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    # RFC 8414 §3.1: metadata of an issuer with a path lives at /.well-known/<name>/<issuer path>.
    path(
        ".well-known/oauth-authorization-server/t/<slug:tenant_slug>/api/v1",
        discovery.openid_configuration,
        name="rfc8414-metadata",
    ),
    path("t/<slug:tenant_slug>/", include((tenant_patterns, "tenant"), namespace="tenant")),
    path("orgs/<slug:tenant_slug>/", include((tenant_patterns, "tenant"), namespace="tenant-alias")),
]

handler400 = "lumoauth.errors.bad_request"
handler403 = "lumoauth.errors.permission_denied"
handler404 = "lumoauth.errors.page_not_found"
handler500 = "lumoauth.errors.server_error"
