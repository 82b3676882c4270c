"""The tenant admin portal, under /t/<slug>/portal/."""

from django.urls import path

from .views import (
    audit,
    clients,
    dashboard,
    groups,
    organization,
    registration_tokens,
    saml,
    scim_tokens,
    signing_keys,
    user_security,
    users,
)

urlpatterns = [
    path("portal/", dashboard.dashboard, name="portal"),
    path("portal/users/", users.user_list, name="portal-users"),
    path("portal/users/new", users.user_create, name="portal-user-create"),
    path("portal/users/<uuid:sub>/", users.user_edit, name="portal-user"),
    path("portal/users/<uuid:sub>/active", users.user_set_active, name="portal-user-active"),
    path("portal/users/<uuid:sub>/delete", users.user_delete, name="portal-user-delete"),
    path("portal/users/<uuid:sub>/password", user_security.user_password, name="portal-user-password"),
    path("portal/users/<uuid:sub>/sessions/end", user_security.user_sessions_end, name="portal-user-sessions-end"),
    path(
        "portal/users/<uuid:sub>/sessions/<int:session_id>/end",
        user_security.user_session_end,
        name="portal-user-session-end",
    ),
    path(
        "portal/users/<uuid:sub>/identities/<int:identity_id>/unlink",
        user_security.user_identity_unlink,
        name="portal-user-identity-unlink",
    ),
    path(
        "portal/users/<uuid:sub>/consents/<int:consent_id>/revoke",
        user_security.user_consent_revoke,
        name="portal-user-consent-revoke",
    ),
    path(
        "portal/users/<uuid:sub>/tokens/<str:client_id>/revoke",
        user_security.user_tokens_revoke,
        name="portal-user-tokens-revoke",
    ),
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
    path("portal/saml/", saml.sp_list, name="portal-saml"),
    path("portal/saml/sp/<int:pk>/", saml.sp_edit, name="portal-saml-sp"),
    path("portal/saml/sp/<int:pk>/delete", saml.sp_delete, name="portal-saml-sp-delete"),
    path("portal/saml/connections/", saml.connection_list, name="portal-saml-connections"),
    path("portal/saml/connections/<slug:slug>/", saml.connection_edit, name="portal-saml-connection"),
    path("portal/saml/connections/<slug:slug>/delete", saml.connection_delete, name="portal-saml-connection-delete"),
    path("portal/audit/", audit.audit_log, name="portal-audit"),
    path("portal/audit/export.<str:fmt>", audit.audit_export, name="portal-audit-export"),
    path("portal/scim/", scim_tokens.token_list, name="portal-scim-tokens"),
    path("portal/scim/tokens/<int:pk>/revoke", scim_tokens.token_revoke, name="portal-scim-token-revoke"),
    path("portal/signing-keys/", signing_keys.key_list, name="portal-signing-keys"),
    path("portal/signing-keys/rotate", signing_keys.key_rotate, name="portal-signing-keys-rotate"),
    path("portal/settings/", organization.tenant_settings, name="portal-settings"),
]
