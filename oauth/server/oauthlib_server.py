"""The oauthlib server LumoAuth runs: only what it implements, nothing DOT would switch on by default.

Authorization endpoint: response_type=code only. Token endpoint: authorization_code, refresh_token,
client_credentials and the extension grants of oauth/grants (device_code, token-exchange). PKCE:
S256 only (RFC 9700 §2.1.1 - "plain" is refused).
"""

from django.conf import settings
from oauthlib.oauth2.rfc6749.endpoints import (
    AuthorizationEndpoint,
    IntrospectEndpoint,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant as OAuth2AuthorizationCodeGrant
from oauthlib.oauth2.rfc6749.grant_types import ClientCredentialsGrant
from oauthlib.oauth2.rfc6749.tokens import BearerToken
from oauthlib.openid.connect.core.endpoints.userinfo import UserInfoEndpoint
from oauthlib.openid.connect.core.grant_types import AuthorizationCodeGrant, RefreshTokenGrant
from oauthlib.openid.connect.core.grant_types.dispatchers import (
    AuthorizationCodeGrantDispatcher,
    AuthorizationTokenGrantDispatcher,
)

from ..grants import extension_grants


class OfflineAwareBearerToken(BearerToken):
    """Issues a refresh token only to clients allowed the refresh_token grant, and in OpenID
    Connect flows only when `offline_access` was granted (OIDC Core §11)."""

    def create_token(self, request, refresh_token=False, **kwargs):
        if refresh_token and not self.request_validator.may_issue_refresh_token(request):
            refresh_token = False
        return super().create_token(request, refresh_token=refresh_token, **kwargs)


def access_token_lifetime(request) -> int:
    """Per client, capped by how long the tenant's retiring signing keys stay published (and, for
    an exchanged token, by what is left of its subject token's life: `lumo_max_expires_in`)."""
    lifetime = min(request.client.access_token_lifetime, settings.LUMOAUTH_SIGNED_TOKEN_MAX_LIFETIME)
    ceiling = getattr(request, "lumo_max_expires_in", None)
    return max(1, min(lifetime, ceiling)) if ceiling is not None else lifetime


def _s256_only(grant) -> None:
    grant._code_challenge_methods = {"S256": grant._code_challenge_methods["S256"]}


class TenantServer(
    AuthorizationEndpoint, IntrospectEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint, UserInfoEndpoint
):
    def __init__(
        self,
        request_validator,
        token_expires_in=None,
        token_generator=None,
        refresh_token_generator=None,
        *args,
        **kwargs,
    ):
        self.auth_grant = OAuth2AuthorizationCodeGrant(request_validator)
        self.openid_connect_auth = AuthorizationCodeGrant(request_validator)
        for grant in (self.auth_grant, self.openid_connect_auth.proxy_target):
            _s256_only(grant)
        self.credentials_grant = ClientCredentialsGrant(request_validator)
        self.refresh_grant = RefreshTokenGrant(request_validator)
        self.bearer = OfflineAwareBearerToken(
            request_validator, token_generator, access_token_lifetime, refresh_token_generator
        )
        self.auth_grant_choice = AuthorizationCodeGrantDispatcher(
            default_grant=self.auth_grant, oidc_grant=self.openid_connect_auth
        )
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": self.auth_grant_choice},
            default_token_type=self.bearer,
        )
        self.token_grant_choice = AuthorizationTokenGrantDispatcher(
            request_validator, default_grant=self.auth_grant, oidc_grant=self.openid_connect_auth
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types={
                "authorization_code": self.token_grant_choice,
                "client_credentials": self.credentials_grant,
                "refresh_token": self.refresh_grant,
                **extension_grants(request_validator),
            },
            default_token_type=self.bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": self.bearer})
        RevocationEndpoint.__init__(self, request_validator)
        IntrospectEndpoint.__init__(self, request_validator)
        UserInfoEndpoint.__init__(self, request_validator)
