"""django-oauth-toolkit's models, swapped for tenant-owned ones.

Every row carries `tenant`; every lookup in oauth.server.validator filters on the tenant of the URL,
so a client, code or token of tenant A presented to tenant B is simply unknown there.
"""

import uuid

from django.conf import settings
from django.db import models
from oauth2_provider.models import (
    AbstractAccessToken,
    AbstractApplication,
    AbstractDeviceGrant,
    AbstractGrant,
    AbstractIDToken,
    AbstractRefreshToken,
    ApplicationManager,
)

from tenants.policy import DEFAULT_ACCESS_TOKEN_LIFETIME, DEFAULT_REFRESH_TOKEN_LIFETIME


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code"
    REFRESH_TOKEN = "refresh_token", "Refresh token"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code", "Device authorization (RFC 8628)"
    TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange", "Token exchange (RFC 8693)"
    CIBA = "urn:openid:params:grant-type:ciba", "Backchannel authentication (CIBA)"


class BackchannelDeliveryMode(models.TextChoices):
    """How a CIBA client learns the outcome (CIBA Core §5): it polls, or it is pinged then fetches."""

    POLL = "poll", "Poll: the client polls the token endpoint"
    PING = "ping", "Ping: the client is called back, then fetches the tokens"


class TokenExchangePolicy(models.TextChoices):
    """What a client may do at the token endpoint with grant_type token-exchange (RFC 8693 §1.1)."""

    NONE = "none", "May not exchange tokens"
    DELEGATION = "delegation", "Delegation only (an actor_token is required)"
    IMPERSONATION = "impersonation", "Delegation and impersonation (actor_token optional)"


class TokenFormat(models.TextChoices):
    JWT = "jwt", "JWT (RFC 9068)"
    OPAQUE = "opaque", "Opaque"


class AuthMethod(models.TextChoices):
    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    PRIVATE_KEY_JWT = "private_key_jwt"
    NONE = "none"


# DOT keeps one grant type per application; ours keep a list, and this maps the list's first entry
# onto DOT's field, which DOT's own code still reads in places (admin, validation of redirect URIs).
DOT_GRANT_TYPE = {
    GrantType.AUTHORIZATION_CODE: AbstractApplication.GRANT_AUTHORIZATION_CODE,
    GrantType.REFRESH_TOKEN: AbstractApplication.GRANT_AUTHORIZATION_CODE,
    GrantType.CLIENT_CREDENTIALS: AbstractApplication.GRANT_CLIENT_CREDENTIALS,
    GrantType.DEVICE_CODE: AbstractApplication.GRANT_DEVICE_CODE,
    # DOT has no constant for token exchange; its field only matters to DOT's own admin forms.
    GrantType.TOKEN_EXCHANGE: AbstractApplication.GRANT_CLIENT_CREDENTIALS,
    GrantType.CIBA: AbstractApplication.GRANT_CLIENT_CREDENTIALS,
}


class ClientManager(ApplicationManager):
    def get_by_natural_key(self, client_id):
        return self.get(client_id=client_id)


class Client(AbstractApplication):
    """An OAuth 2.0 client of one tenant."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="oauth_clients")
    grant_types = models.JSONField(default=list)
    token_endpoint_auth_method = models.CharField(
        max_length=32, choices=AuthMethod.choices, default=AuthMethod.CLIENT_SECRET_BASIC
    )
    token_format = models.CharField(max_length=8, choices=TokenFormat.choices, default=TokenFormat.JWT)
    access_token_lifetime = models.PositiveIntegerField(default=DEFAULT_ACCESS_TOKEN_LIFETIME)
    refresh_token_lifetime = models.PositiveIntegerField(default=DEFAULT_REFRESH_TOKEN_LIFETIME)
    # The scopes this client may ask for (space-separated); empty means the tenant's standard set.
    allowed_scopes = models.TextField(blank=True)
    # First-party clients may skip the consent page (DOT's skip_authorization).
    # For private_key_jwt (RFC 7523): the client's public keys, inline or by URL.
    jwks = models.JSONField(default=dict, blank=True)
    jwks_uri = models.URLField(blank=True)
    # Registration (RFC 7591/7592): the whole metadata as registered, and the hashed access token.
    registration_metadata = models.JSONField(default=dict, blank=True)
    registration_access_token_hash = models.CharField(max_length=128, blank=True)
    # RFC 9126 §6: this client's authorization requests are accepted only through PAR.
    require_pushed_authorization_requests = models.BooleanField(default=False)
    # RFC 8693: whether and how this client may exchange tokens, and for which audiences.
    token_exchange_policy = models.CharField(
        max_length=16, choices=TokenExchangePolicy.choices, default=TokenExchangePolicy.NONE
    )
    # Space-separated audience / resource values an exchanged token may be issued for.
    token_exchange_audiences = models.TextField(blank=True)
    # CIBA (CIBA Core §4 client metadata): how the outcome reaches the client, and where pings go.
    backchannel_token_delivery_mode = models.CharField(
        max_length=8, choices=BackchannelDeliveryMode.choices, blank=True
    )
    backchannel_client_notification_endpoint = models.URLField(max_length=2048, blank=True)

    objects = ClientManager()

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        indexes = [models.Index(fields=["tenant", "client_id"], name="client_tenant_client_id")]

    @property
    def is_public(self) -> bool:
        return self.client_type == self.CLIENT_PUBLIC

    def get_allowed_schemes(self) -> list[str]:
        # http only ever passes check_consistency for loopback redirect URIs (RFC 8252 §7.3).
        return ["https", "http"]

    def allows_grant_type(self, *grant_types) -> bool:
        # Accept both our names and DOT's constants.
        names = {name for name, dot in DOT_GRANT_TYPE.items() if dot in grant_types} | set(grant_types)
        return bool(names & set(self.grant_types))

    def scope_list(self) -> list[str]:
        return self.allowed_scopes.split()


class Grant(AbstractGrant):
    """An authorization code. Kept after use (`used_at`) so a replayed code can revoke what it issued."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    used_at = models.DateTimeField(null=True, blank=True)
    auth_time = models.PositiveBigIntegerField(null=True, blank=True)
    amr = models.JSONField(default=list, blank=True)

    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class AccessToken(AbstractAccessToken):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    # The authorization code this token came from, to revoke it when the code is replayed.
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    jti = models.CharField(max_length=64, blank=True, db_index=True)
    token_format = models.CharField(max_length=8, choices=TokenFormat.choices, default=TokenFormat.OPAQUE)
    # Token exchange (RFC 8693 §4.1): the delegation chain, and the subject when it is not a user
    # of this tenant (a client); introspection reports both.
    act = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=255, blank=True)

    class Meta(AbstractAccessToken.Meta):
        swappable = "OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL"


class RefreshToken(AbstractRefreshToken):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    auth_time = models.PositiveBigIntegerField(null=True, blank=True)
    amr = models.JSONField(default=list, blank=True)

    class Meta(AbstractRefreshToken.Meta):
        swappable = "OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL"


class IDToken(AbstractIDToken):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    class Meta(AbstractIDToken.Meta):
        swappable = "OAUTH2_PROVIDER_ID_TOKEN_MODEL"


class DeviceGrant(AbstractDeviceGrant):
    """A device authorization (RFC 8628). `device_code` holds the SHA-256 of the device code, never
    the code; `user_code` is the normalised user code (8 letters, no dash)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, null=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Set once tokens were issued for it: a device code is single-use.
    used_at = models.DateTimeField(null=True, blank=True)
    auth_time = models.PositiveBigIntegerField(null=True, blank=True)
    amr = models.JSONField(default=list, blank=True)

    class Meta(AbstractDeviceGrant.Meta):
        swappable = "OAUTH2_PROVIDER_DEVICE_GRANT_MODEL"
        indexes = [models.Index(fields=["tenant", "user_code"], name="device_grant_user_code")]


class BackchannelAuthentication(models.Model):
    """A CIBA authentication request (CIBA Core §7): started by a client for a user, approved or
    denied by that user on the tenant's approval page or through the approval API, redeemed once at
    the token endpoint. `auth_req_id` holds the SHA-256 of the identifier, never the identifier;
    `uid` names the request to the user (approval page, API, notification) and grants nothing."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    auth_req_id = models.CharField(max_length=64, unique=True)
    scope = models.TextField()
    binding_message = models.CharField(max_length=100, blank=True)
    delivery_mode = models.CharField(max_length=8, choices=BackchannelDeliveryMode.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    interval = models.PositiveIntegerField()
    expires = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Set once tokens were issued for it: an auth_req_id is single-use.
    used_at = models.DateTimeField(null=True, blank=True)
    auth_time = models.PositiveBigIntegerField(null=True, blank=True)
    amr = models.JSONField(default=list, blank=True)
    # Ping mode: the auth_req_id and the client_notification_token the ping carries, AES-GCM
    # encrypted and bound to `uid` (oauth/ciba/authentications.py); empty in poll mode.
    ping_encrypted = models.BinaryField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "user", "status"], name="ciba_user_pending")]

    def __str__(self) -> str:
        return f"CIBA request {self.uid} ({self.status})"


class Consent(models.Model):
    """What a user allowed a client: asked again when the client asks for more."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_consents")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scopes = models.JSONField(default=list)
    granted_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="consent_user_client")]

    def __str__(self) -> str:
        return f"{self.user} -> {self.client}: {' '.join(self.scopes)}"

    def covers(self, scopes) -> bool:
        return set(scopes) <= set(self.scopes)


class ApiScope(models.Model):
    """A scope a tenant defines for its own APIs (beyond the OpenID Connect standard scopes)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="api_scopes")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="api_scope_per_tenant")]

    def __str__(self) -> str:
        return self.name


class InitialAccessToken(models.Model):
    """Guards dynamic client registration (RFC 7591 §3): a tenant admin hands one to a developer.
    Only a hash of the token is stored; it is shown once when created."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="initial_access_tokens")
    label = models.CharField(max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    clients_registered = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"initial access token {self.pk}"


# Inbound federation (the tenant as a relying party of external OpenID Providers).
from .federation.models import OIDCConnection  # noqa: E402,F401


class PushedAuthorizationRequest(models.Model):
    """An authorization request pushed by a client (RFC 9126). Only the SHA-256 of the request_uri
    reference is stored. The first authorization request that uses it claims it for one browser
    session; once that request has produced its response it is completed and never accepted again."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    reference_hash = models.CharField(max_length=64, unique=True)
    parameters = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_hash = models.CharField(max_length=64, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"pushed authorization request {self.pk} of {self.client_id}"


class SubjectMatch(models.TextChoices):
    """How a JWT of a trusted issuer names a user of the tenant."""

    EMAIL = "email", "The email claim is a user's email"
    USERNAME = "username", "preferred_username (else sub) is a user's username"
    NONE = "none", "Never a user: the issuer's tokens may only be actor tokens"


class TrustedIssuer(models.Model):
    """An external token issuer the tenant trusts for token exchange (RFC 8693): its JWTs, signed by
    keys of its JWKS (inline or by URL), may be subject or actor tokens."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="trusted_issuers")
    name = models.CharField(max_length=200)
    issuer = models.CharField(max_length=1024)
    jwks_uri = models.URLField(max_length=2048, blank=True)
    jwks = models.JSONField(default=dict, blank=True)
    # The `aud` its tokens must carry to be exchanged here; empty: this tenant's issuer.
    audience = models.CharField(max_length=1024, blank=True)
    # The most a token of this issuer can be exchanged for (space-separated); empty: nothing but
    # the scopes its own `scope` claim lists that the tenant also knows.
    allowed_scopes = models.TextField(blank=True)
    subject_match = models.CharField(max_length=16, choices=SubjectMatch.choices, default=SubjectMatch.NONE)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "issuer"], name="trusted_issuer_per_tenant")]

    def __str__(self) -> str:
        return self.name or self.issuer
