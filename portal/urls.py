"""The tenant admin portal, under /t/<slug>/portal/."""

from django.urls import path

from .views import audit, dashboard, users

urlpatterns = [
    path("portal/", dashboard.dashboard, name="portal"),
    path("portal/users/", users.user_list, name="portal-users"),
    path("portal/users/new", users.user_create, name="portal-user-create"),
    path("portal/users/<uuid:sub>/", users.user_edit, name="portal-user"),
    path("portal/users/<uuid:sub>/active", users.user_set_active, name="portal-user-active"),
    path("portal/audit/", audit.audit_log, name="portal-audit"),
]
