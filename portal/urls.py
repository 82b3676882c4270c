"""The tenant admin portal, under /t/<slug>/portal/."""

from django.urls import path

from .views import audit, clients, dashboard, groups, organization, registration_tokens, users

urlpatterns = [
    path("portal/", dashboard.dashboard, name="portal"),
    path("portal/users/", users.user_list, name="portal-users"),
    path("portal/users/new", users.user_create, name="portal-user-create"),
    path("portal/users/<uuid:sub>/", users.user_edit, name="portal-user"),
    path("portal/users/<uuid:sub>/active", users.user_set_active, name="portal-user-active"),
    path("portal/groups/", groups.group_list, name="portal-groups"),
    path("portal/groups/<uuid:uid>/", groups.group_detail, name="portal-group"),
    path("portal/groups/<uuid:uid>/delete", groups.group_delete, name="portal-group-delete"),
    path(
        "portal/groups/<uuid:uid>/members/<uuid:sub>/remove",
        groups.group_remove_member,
        name="portal-group-remove-member",
    ),
    path("portal/clients/", clients.client_list, name="portal-clients"),
    path("portal/registration-tokens/", registration_tokens.token_list, name="portal-registration-tokens"),
    path(
        "portal/registration-tokens/<int:pk>/revoke",
        registration_tokens.token_revoke,
        name="portal-registration-token-revoke",
    ),
    path("portal/clients/<str:client_id>/", clients.client_edit, name="portal-client"),
    path("portal/clients/<str:client_id>/rotate", clients.client_rotate_secret, name="portal-client-rotate"),
    path("portal/clients/<str:client_id>/delete", clients.client_delete, name="portal-client-delete"),
    path("portal/audit/", audit.audit_log, name="portal-audit"),
    path("portal/settings/", organization.tenant_settings, name="portal-settings"),
]
