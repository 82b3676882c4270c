"""Root URLs. Everything a tenant owns lives under /t/<slug>/ and, as an alias, /orgs/<slug>/."""

from django.contrib import admin
from django.urls import include, path

from . import views

# Each app adds its tenant-scoped URLs here; TenantMiddleware turns <tenant_slug> into request.tenant.
tenant_patterns = [
    path("", include("tenants.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("t/<slug:tenant_slug>/", include((tenant_patterns, "tenant"), namespace="tenant")),
    path("orgs/<slug:tenant_slug>/", include((tenant_patterns, "tenant"), namespace="tenant-alias")),
]

handler400 = "lumoauth.errors.bad_request"
handler403 = "lumoauth.errors.permission_denied"
handler404 = "lumoauth.errors.page_not_found"
handler500 = "lumoauth.errors.server_error"
