"""The demo tenant's OAuth clients, for `manage.py quickstart` (stable ids and known secrets)."""

from django.contrib.auth.hashers import check_password

from lumoauth.events.api import Ref
from lumoauth.quickstart import contribute

from .models import AuthMethod, BackchannelDeliveryMode, Client, GrantType
from .services.clients import ClientSpec, create_client
from .services.registration import create_initial_access_token, initial_access_token_exists

ACTOR = Ref("system", "", "manage.py quickstart")
DEMO_INITIAL_ACCESS_TOKEN = "demo-initial-access-token-change-me-0123456789"
DEMO_CLIENTS = [
    (
        "demo-web",
        "demo-web-secret-change-me-0123456789",
        ClientSpec(
            name="Demo web app",
            client_type=Client.CLIENT_CONFIDENTIAL,
            grant_types=[GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN],
            redirect_uris=["http://localhost:8080/callback"],
            post_logout_redirect_uris=["http://localhost:8080/"],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            allowed_scopes="openid profile email phone address offline_access",
        ),
    ),
    (
        "demo-spa",
        None,
        ClientSpec(
            name="Demo single-page app",
            client_type=Client.CLIENT_PUBLIC,
            grant_types=[GrantType.AUTHORIZATION_CODE],
            redirect_uris=["http://localhost:5173/callback"],
            post_logout_redirect_uris=["http://localhost:5173/"],
            token_endpoint_auth_method=AuthMethod.NONE,
            allowed_scopes="openid profile email",
        ),
    ),
    (
        "demo-service",
        "demo-service-secret-change-me-0123456789",
        ClientSpec(
            name="Demo service",
            client_type=Client.CLIENT_CONFIDENTIAL,
            grant_types=[GrantType.CLIENT_CREDENTIALS],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            allowed_scopes="",
        ),
    ),
    (
        # RFC 8628: a TV or command-line app; no redirect URI, no secret.
        "demo-device",
        None,
        ClientSpec(
            name="Demo device (CLI / TV)",
            client_type=Client.CLIENT_PUBLIC,
            grant_types=[GrantType.DEVICE_CODE, GrantType.REFRESH_TOKEN],
            token_endpoint_auth_method=AuthMethod.NONE,
            allowed_scopes="openid profile email offline_access",
        ),
    ),
    (
        # CIBA: a call-centre or point-of-sale app asks the user to approve on their own device;
        # it polls the token endpoint (the approval link reaches the user by email or webhook).
        "demo-ciba",
        "demo-ciba-secret-change-me-0123456789",
        ClientSpec(
            name="Demo backchannel (CIBA) app",
            client_type=Client.CLIENT_CONFIDENTIAL,
            grant_types=[GrantType.CIBA],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            allowed_scopes="openid profile email",
            backchannel_token_delivery_mode=BackchannelDeliveryMode.POLL,
        ),
    ),
]


@contribute(order=10)
def demo_clients(tenant, info: dict) -> None:
    for client_id, secret, spec in DEMO_CLIENTS:
        client = Client.objects.filter(tenant=tenant, client_id=client_id).first()
        if client is None:
            client, _ = create_client(tenant, spec, client_id=client_id, client_secret=secret, actor=ACTOR)
        elif secret and not check_password(secret, client.client_secret):
            client.client_secret = secret
            client.save(update_fields=["client_secret", "updated"])
        info["clients"].append(
            {
                "client_id": client.client_id,
                "client_secret": secret,
                "type": client.client_type,
                "redirect_uris": client.redirect_uris.split(),
                "grant_types": client.grant_types,
                "token_endpoint_auth_method": client.token_endpoint_auth_method,
                "scope": client.allowed_scopes,
            }
        )


@contribute(order=11)
def demo_initial_access_token(tenant, info: dict) -> None:
    if not initial_access_token_exists(tenant, DEMO_INITIAL_ACCESS_TOKEN):
        create_initial_access_token(tenant, label="quickstart", token=DEMO_INITIAL_ACCESS_TOKEN, actor=ACTOR)
    info["initial_access_token"] = DEMO_INITIAL_ACCESS_TOKEN
    info["registration_endpoint"] = f"{info['issuer']}/oauth/register"
    info["device_authorization_endpoint"] = f"{info['issuer']}/oauth/device_authorization"
    info["pushed_authorization_request_endpoint"] = f"{info['issuer']}/oauth/par"
    info["backchannel_authentication_endpoint"] = f"{info['issuer']}/oauth/bc-authorize"
