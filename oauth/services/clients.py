"""OAuth clients of a tenant: register, change, rotate the secret, delete (each audited)."""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from oauth2_provider.generators import generate_client_id

from lumoauth.events.api import Ref, record
from tenants.policy import tenant_policy

from ..client_secrets import generate_client_secret
from ..models import (
    DOT_GRANT_TYPE,
    AuthMethod,
    BackchannelDeliveryMode,
    Client,
    GrantType,
    TokenExchangePolicy,
    TokenFormat,
)
from .consents import client_ref

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
SECRET_METHODS = {AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST}


@dataclass
class ClientSpec:
    """What a client is registered with; validated as a whole by `check_consistency`."""

    name: str
    client_type: str = Client.CLIENT_CONFIDENTIAL
    grant_types: list[str] = field(default_factory=lambda: [GrantType.AUTHORIZATION_CODE])
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    token_endpoint_auth_method: str | None = None
    token_format: str = TokenFormat.JWT
    access_token_lifetime: int | None = None
    refresh_token_lifetime: int | None = None
    allowed_scopes: str = ""
    skip_consent: bool = False
    jwks: dict = field(default_factory=dict)
    jwks_uri: str = ""
    allowed_origins: list[str] = field(default_factory=list)
    require_pushed_authorization_requests: bool = False
    token_exchange_policy: str = TokenExchangePolicy.NONE
    token_exchange_audiences: list[str] = field(default_factory=list)
    backchannel_token_delivery_mode: str = ""  # CIBA: poll or ping
    backchannel_client_notification_endpoint: str = ""  # CIBA ping mode

    def auth_method(self) -> str:
        if self.token_endpoint_auth_method:
            return self.token_endpoint_auth_method
        return AuthMethod.NONE if self.client_type == Client.CLIENT_PUBLIC else AuthMethod.CLIENT_SECRET_BASIC


def check_consistency(spec: ClientSpec) -> None:
    """Metadata that contradicts itself is refused (RFC 7591 §2: grant and response types,
    authentication method and keys must agree)."""
    problems: dict[str, list[str]] = {}

    def problem(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    method = spec.auth_method()
    unknown = set(spec.grant_types) - set(GrantType.values)
    if unknown:
        problem("grant_types", f"Unsupported grant types: {', '.join(sorted(unknown))}.")
    if not spec.grant_types:
        problem("grant_types", "Choose at least one grant type.")
    if GrantType.REFRESH_TOKEN in spec.grant_types and not (
        {GrantType.AUTHORIZATION_CODE, GrantType.DEVICE_CODE, GrantType.CIBA} & set(spec.grant_types)
    ):
        problem("grant_types", "refresh_token is only issued with authorization_code, the device grant or CIBA.")
    if GrantType.AUTHORIZATION_CODE in spec.grant_types and not spec.redirect_uris:
        problem("redirect_uris", "authorization_code needs at least one redirect URI.")
    if spec.client_type not in (Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC):
        problem("client_type", "Client type is confidential or public.")
    if method not in AuthMethod.values:
        problem("token_endpoint_auth_method", f"Unsupported authentication method {method}.")
    if spec.client_type == Client.CLIENT_PUBLIC and method != AuthMethod.NONE:
        problem("token_endpoint_auth_method", "Public clients cannot authenticate: use none.")
    if spec.client_type == Client.CLIENT_CONFIDENTIAL and method == AuthMethod.NONE:
        problem("token_endpoint_auth_method", "Confidential clients must authenticate.")
    if spec.client_type == Client.CLIENT_PUBLIC and GrantType.CLIENT_CREDENTIALS in spec.grant_types:
        problem("grant_types", "client_credentials needs a confidential client.")
    if spec.require_pushed_authorization_requests and GrantType.AUTHORIZATION_CODE not in spec.grant_types:
        problem("require_pushed_authorization_requests", "Pushed authorization requests need authorization_code.")
    exchanges = GrantType.TOKEN_EXCHANGE in spec.grant_types
    if spec.token_exchange_policy not in TokenExchangePolicy.values:
        problem("token_exchange_policy", "Unknown token exchange policy.")
    elif exchanges and spec.token_exchange_policy == TokenExchangePolicy.NONE:
        problem("token_exchange_policy", "Token exchange needs a policy: delegation or impersonation.")
    elif not exchanges and spec.token_exchange_policy != TokenExchangePolicy.NONE:
        problem("token_exchange_policy", "Enable the token exchange grant type for this policy.")
    if spec.client_type == Client.CLIENT_PUBLIC and exchanges:
        problem("grant_types", "Token exchange needs a confidential client.")
    for audience in spec.token_exchange_audiences:
        if len(audience) > 1024 or any(c.isspace() for c in audience) or "#" in audience:
            problem("token_exchange_audiences", f"{audience[:80]}: not a valid audience (no spaces or fragments).")
    if spec.token_exchange_audiences and not exchanges:
        problem("token_exchange_audiences", "Audiences only apply to token exchange.")
    _check_backchannel(spec, problem)
    if method == AuthMethod.PRIVATE_KEY_JWT and not (spec.jwks.get("keys") or spec.jwks_uri):
        problem("jwks", "private_key_jwt needs jwks or jwks_uri.")
    if spec.token_format not in TokenFormat.values:
        problem("token_format", "Token format is jwt or opaque.")
    for uri in spec.redirect_uris + spec.post_logout_redirect_uris:
        parts = urlsplit(uri)
        if "#" in uri:  # RFC 6749 §3.1.2: no fragment
            problem("redirect_uris", f"{uri}: redirect URIs cannot have a fragment.")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            # RFC 9700 §2.1 / RFC 8252 §7.3: plain http only for loopback redirects.
            problem("redirect_uris", f"{uri}: use https (http is allowed for localhost only).")
    for lifetime in ("access_token_lifetime", "refresh_token_lifetime"):
        value = getattr(spec, lifetime)
        if value is not None and not (60 <= value <= 366 * 86400):
            problem(lifetime, "Lifetimes are between 60 seconds and a year.")
    if problems:
        raise ValidationError(problems)


def _check_backchannel(spec: ClientSpec, problem) -> None:
    """CIBA Core §4: a CIBA client has a delivery mode; ping mode needs the notification endpoint,
    which "MUST use the https scheme" (http for loopback only, as for redirect URIs)."""
    mode, endpoint = spec.backchannel_token_delivery_mode, spec.backchannel_client_notification_endpoint
    if GrantType.CIBA not in spec.grant_types:
        if mode:
            problem("backchannel_token_delivery_mode", "Enable the CIBA grant type for a delivery mode.")
        if endpoint:
            problem(
                "backchannel_client_notification_endpoint", "Enable the CIBA grant type for a notification endpoint."
            )
        return
    if spec.client_type == Client.CLIENT_PUBLIC:
        problem("grant_types", "CIBA needs a confidential client.")
    if mode not in BackchannelDeliveryMode.values:
        problem("backchannel_token_delivery_mode", "CIBA clients are told the outcome by poll or ping.")
    if mode == BackchannelDeliveryMode.PING and not endpoint:
        problem("backchannel_client_notification_endpoint", "Ping mode needs a client notification endpoint.")
    if mode != BackchannelDeliveryMode.PING and endpoint:
        problem("backchannel_client_notification_endpoint", "Only ping mode uses a notification endpoint.")
    if endpoint:
        parts = urlsplit(endpoint)
        secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
        if not secure or not parts.hostname or "#" in endpoint or len(endpoint) > 2048:
            problem("backchannel_client_notification_endpoint", "Use an https URL without a fragment.")


def _apply(client: Client, spec: ClientSpec) -> None:
    client.name = spec.name
    client.client_type = spec.client_type
    client.grant_types = list(dict.fromkeys(spec.grant_types))
    client.authorization_grant_type = DOT_GRANT_TYPE[GrantType(spec.grant_types[0])]
    client.redirect_uris = " ".join(spec.redirect_uris)
    client.post_logout_redirect_uris = " ".join(spec.post_logout_redirect_uris)
    client.token_endpoint_auth_method = spec.auth_method()
    client.token_format = spec.token_format
    if spec.access_token_lifetime:
        client.access_token_lifetime = spec.access_token_lifetime
    if spec.refresh_token_lifetime:
        client.refresh_token_lifetime = spec.refresh_token_lifetime
    client.allowed_scopes = spec.allowed_scopes
    client.skip_authorization = spec.skip_consent
    client.jwks = spec.jwks
    client.jwks_uri = spec.jwks_uri
    client.allowed_origins = " ".join(spec.allowed_origins)
    client.require_pushed_authorization_requests = spec.require_pushed_authorization_requests
    client.token_exchange_policy = spec.token_exchange_policy
    client.token_exchange_audiences = " ".join(dict.fromkeys(spec.token_exchange_audiences))
    client.backchannel_token_delivery_mode = spec.backchannel_token_delivery_mode
    client.backchannel_client_notification_endpoint = spec.backchannel_client_notification_endpoint


@transaction.atomic
def create_client(
    tenant,
    spec: ClientSpec,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    actor: Ref | None = None,
    request=None,
) -> tuple[Client, str | None]:
    """Register a client. Returns it with its secret in plain text - the only time the secret is
    ever visible; only its keyed hash is stored."""
    check_consistency(spec)
    client = Client(tenant=tenant, client_id=client_id or generate_client_id())
    # Lifetimes not given are the tenant's defaults (its settings), not the platform's.
    policy = tenant_policy(tenant)
    client.access_token_lifetime = policy.access_token_lifetime
    client.refresh_token_lifetime = policy.refresh_token_lifetime
    _apply(client, spec)
    secret = None
    if client.token_endpoint_auth_method in SECRET_METHODS:
        secret = client_secret or generate_client_secret()
    client.client_secret = secret or ""
    client.hash_client_secret = True
    client.full_clean(exclude=["client_secret", "user"])
    client.save()
    record(
        "client.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=client_ref(client),
        details={
            "grant_types": client.grant_types,
            "client_type": client.client_type,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
        },
    )
    return client, secret


@transaction.atomic
def update_client(client: Client, spec: ClientSpec, *, actor: Ref | None = None, request=None) -> Client:
    check_consistency(spec)
    if (spec.auth_method() in SECRET_METHODS) != (client.token_endpoint_auth_method in SECRET_METHODS):
        raise ValidationError({"token_endpoint_auth_method": "Rotate to or from a secret by re-registering."})
    _apply(client, spec)
    client.full_clean(exclude=["client_secret", "user"])
    client.save()
    record("client.updated", tenant=client.tenant, actor=actor, request=request, target=client_ref(client))
    return client


@transaction.atomic
def rotate_client_secret(client: Client, *, actor: Ref | None = None, request=None) -> str:
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise ValidationError("This client does not authenticate with a secret.")
    secret = generate_client_secret()
    client.client_secret = secret
    client.save(update_fields=["client_secret", "updated"])
    record("client.secret_rotated", tenant=client.tenant, actor=actor, request=request, target=client_ref(client))
    return secret


@transaction.atomic
def delete_client(client: Client, *, actor: Ref | None = None, request=None) -> None:
    target, tenant = client_ref(client), client.tenant
    client.delete()
    record("client.deleted", tenant=tenant, actor=actor, request=request, target=target)
