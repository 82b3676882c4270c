"""OAuth 2.0 / OpenID Connect endpoints of a tenant, under its issuer path api/v1/."""

from django.urls import path

from .endpoints import (
    authorize,
    backchannel_authentication,
    ciba_approval,
    device_authorization,
    device_verification,
    discovery,
    logout,
    par,
    register,
    token,
)

urlpatterns = [
    path("api/v1/.well-known/openid-configuration", discovery.openid_configuration, name="openid-configuration"),
    path(
        "api/v1/.well-known/oauth-authorization-server",
        discovery.openid_configuration,
        name="oauth-authorization-server",
    ),
    path("api/v1/.well-known/jwks.json", discovery.jwks_document, name="jwks"),
    path("api/v1/oauth/authorize", authorize.AuthorizeView.as_view(), name="authorize"),
    path("api/v1/oauth/par", par.PushedAuthorizationRequestView.as_view(), name="par"),
    path(
        "api/v1/oauth/device_authorization",
        device_authorization.DeviceAuthorizationView.as_view(),
        name="device-authorization",
    ),
    path("device", device_verification.device_view, name="device"),
    path(
        "api/v1/oauth/bc-authorize",
        backchannel_authentication.BackchannelAuthenticationView.as_view(),
        name="backchannel-authentication",
    ),
    path("ciba/<uuid:uid>", ciba_approval.approval_view, name="ciba-approval"),
    path("api/v1/ciba/requests", ciba_approval.PendingRequestsView.as_view(), name="ciba-requests"),
    path("api/v1/ciba/requests/<str:uid>", ciba_approval.RequestDecisionView.as_view(), name="ciba-request"),
    path("api/v1/oauth/token", token.TokenView.as_view(), name="token"),
    path("api/v1/oauth/userinfo", token.UserInfoView.as_view(), name="userinfo"),
    path("api/v1/oauth/introspect", token.IntrospectView.as_view(), name="introspect"),
    path("api/v1/oauth/revoke", token.RevokeView.as_view(), name="revoke"),
    path("api/v1/oauth/logout", logout.LogoutView.as_view(), name="end-session"),
    path("api/v1/oauth/register", register.RegisterView.as_view(), name="register"),
    path(
        "api/v1/oauth/register/<str:client_id>", register.ClientConfigurationView.as_view(), name="client-configuration"
    ),
]
