"""Dynamic client registration (RFC 7591) and management (RFC 7592), without HTTP.

Registration needs an initial access token a tenant admin created; each registered client gets a
registration access token for reading, updating and deleting its own registration. Both are
random 256-bit values stored only as SHA-256 hashes.
"""

import hashlib
import hmac
import json
import secrets
from datetime import timedelta

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from lumoauth.events.api import Ref, record

from ..models import AuthMethod, Client, GrantType, InitialAccessToken, TokenFormat
from .clients import ClientSpec, check_consistency, create_client, delete_client, update_client

STRING_FIELDS = (
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
    "jwks_uri",
    # CIBA Core §4 client metadata.
    "backchannel_token_delivery_mode",
    "backchannel_client_notification_endpoint",
    "scope",
    "token_endpoint_auth_method",
    "application_type",
)
LIST_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "grant_types", "response_types", "contacts")


class RegistrationError(Exception):
    """An RFC 7591 §3.2.2 error: `error` is invalid_redirect_uri or invalid_client_metadata."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- initial access tokens ---------------------------------------------------------------------
@transaction.atomic
def create_initial_access_token(
    tenant,
    *,
    label: str = "",
    expires_in: int | None = None,
    token: str | None = None,
    actor: Ref | None = None,
    request=None,
) -> tuple[InitialAccessToken, str]:
    """A new initial access token, returned in plain text this once (`token` only for the demo)."""
    token = token or secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(seconds=expires_in) if expires_in else None
    saved = InitialAccessToken.objects.create(
        tenant=tenant, label=label, token_hash=_hash(token), expires_at=expires_at
    )
    record(
        "initial_access_token.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=Ref("initial_access_token", str(saved.pk), label),
        details={"expires_in": expires_in},
    )
    return saved, token


@transaction.atomic
def revoke_initial_access_token(token: InitialAccessToken, *, actor: Ref | None = None, request=None) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(
        "initial_access_token.revoked",
        tenant=token.tenant,
        actor=actor,
        request=request,
        target=Ref("initial_access_token", str(token.pk), token.label),
    )


def initial_access_token_exists(tenant, token: str) -> bool:
    return InitialAccessToken.objects.filter(tenant=tenant, token_hash=_hash(token)).exists()


def find_initial_access_token(tenant, token: str) -> InitialAccessToken | None:
    if not token or len(token) > 512:
        return None
    found = InitialAccessToken.objects.filter(tenant=tenant, token_hash=_hash(token), revoked_at__isnull=True).first()
    if found is None or (found.expires_at and found.expires_at <= timezone.now()):
        return None
    return found


# ---- metadata -----------------------------------------------------------------------------------
def spec_from_metadata(metadata: dict, *, existing: Client | None = None) -> tuple[ClientSpec, dict]:
    """Validate RFC 7591 §2 client metadata (for an update, of the `existing` client); returns the
    client spec and the metadata to keep."""
    if not isinstance(metadata, dict):
        raise RegistrationError("invalid_client_metadata", "The body must be a JSON object.")
    if "\\u0000" in json.dumps(metadata):  # JSON always escapes NUL as \u0000
        raise RegistrationError("invalid_client_metadata", "Metadata cannot contain NUL characters.")
    kept: dict = {}
    for name in STRING_FIELDS:
        if name in metadata:
            if not isinstance(metadata[name], str) or len(metadata[name]) > 2000:
                raise RegistrationError("invalid_client_metadata", f"{name} must be a string.")
            kept[name] = metadata[name]
    for name in LIST_FIELDS:
        if name in metadata:
            value = metadata[name]
            if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 2000 for v in value):
                raise RegistrationError("invalid_client_metadata", f"{name} must be an array of strings.")
            kept[name] = value
    if "jwks" in metadata:
        if not isinstance(metadata["jwks"], dict) or not isinstance(metadata["jwks"].get("keys"), list):
            raise RegistrationError("invalid_client_metadata", "jwks must be a JWK Set.")
        kept["jwks"] = metadata["jwks"]
    if "require_pushed_authorization_requests" in metadata:  # RFC 9126 §6
        if not isinstance(metadata["require_pushed_authorization_requests"], bool):
            raise RegistrationError("invalid_client_metadata", "require_pushed_authorization_requests is a boolean.")
        kept["require_pushed_authorization_requests"] = metadata["require_pushed_authorization_requests"]
    if "jwks" in kept and "jwks_uri" in kept:  # RFC 7591 §2: MUST NOT both be present
        raise RegistrationError("invalid_client_metadata", "Use jwks or jwks_uri, not both.")

    kept.setdefault("token_endpoint_auth_method", AuthMethod.CLIENT_SECRET_BASIC)  # RFC 7591 §2 default
    kept.setdefault("grant_types", [GrantType.AUTHORIZATION_CODE])
    kept.setdefault("response_types", ["code"] if GrantType.AUTHORIZATION_CODE in kept["grant_types"] else [])
    if set(kept["response_types"]) - {"code"}:
        raise RegistrationError("invalid_client_metadata", "Only the response type code is supported.")
    # RFC 7591 §2.1: grant_types and response_types must agree.
    if ("code" in kept["response_types"]) != (GrantType.AUTHORIZATION_CODE in kept["grant_types"]):
        raise RegistrationError(
            "invalid_client_metadata", "response_types code and grant_types authorization_code go together."
        )
    method = kept["token_endpoint_auth_method"]
    spec = ClientSpec(
        name=kept.get("client_name", "")[:255],
        client_type=Client.CLIENT_PUBLIC if method == AuthMethod.NONE else Client.CLIENT_CONFIDENTIAL,
        grant_types=kept["grant_types"],
        redirect_uris=kept.get("redirect_uris", []),
        post_logout_redirect_uris=kept.get("post_logout_redirect_uris", []),
        token_endpoint_auth_method=method,
        token_format=TokenFormat.JWT,
        allowed_scopes=kept.get("scope", ""),
        jwks=kept.get("jwks", {}),
        jwks_uri=kept.get("jwks_uri", ""),
        require_pushed_authorization_requests=kept.get("require_pushed_authorization_requests", False),
        backchannel_token_delivery_mode=kept.get("backchannel_token_delivery_mode", ""),
        backchannel_client_notification_endpoint=kept.get("backchannel_client_notification_endpoint", ""),
    )
    if existing is not None:
        _keep_admin_settings(spec, existing)
    try:
        check_consistency(spec)
    except ValidationError as exc:
        raise _registration_error(exc) from exc
    return spec, kept


def _registration_error(exc: ValidationError) -> RegistrationError:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    error = "invalid_redirect_uri" if "redirect_uris" in fields else "invalid_client_metadata"
    return RegistrationError(error, " ".join(m for ms in fields.values() for m in ms))


def client_information(
    client: Client, issuer: str, *, secret: str | None = None, registration_token: str | None = None
) -> dict:
    """RFC 7591 §3.2.1 / RFC 7592 §3: what the server says about a registered client."""
    info = dict(client.registration_metadata)
    info.update(
        {
            "client_id": client.client_id,
            "client_id_issued_at": int(client.created.timestamp()),
            "registration_client_uri": f"{issuer}/oauth/register/{client.client_id}",
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "grant_types": client.grant_types,
        }
    )
    if secret:
        info.update({"client_secret": secret, "client_secret_expires_at": 0})
    if registration_token:
        info["registration_access_token"] = registration_token
    return info


def _issue_registration_token(client: Client) -> str:
    token = secrets.token_urlsafe(32)
    client.registration_access_token_hash = _hash(token)
    client.save(update_fields=["registration_access_token_hash", "updated"])
    return token


# ---- the three operations ----------------------------------------------------------------------
@transaction.atomic
def register_client(
    tenant, initial: InitialAccessToken, metadata: dict, *, request=None
) -> tuple[Client, str | None, str]:
    spec, kept = spec_from_metadata(metadata)
    actor = Ref("initial_access_token", str(initial.pk), initial.label or "initial access token")
    try:
        client, secret = create_client(tenant, spec, actor=actor, request=request)
    except ValidationError as exc:  # e.g. a redirect URI that is not a URI at all
        raise _registration_error(exc) from exc
    client.registration_metadata = kept
    client.registration_source = Client.RegistrationSource.DCR
    client.save(update_fields=["registration_metadata", "registration_source", "updated"])
    InitialAccessToken.objects.filter(pk=initial.pk).update(
        last_used_at=timezone.now(), clients_registered=F("clients_registered") + 1
    )
    return client, secret, _issue_registration_token(client)


def find_registered_client(tenant, client_id: str, registration_token: str) -> Client | None:
    """RFC 7592 §2: the client, if the registration access token is its own; else None."""
    client = Client.objects.filter(
        tenant=tenant, client_id=client_id, registration_source=Client.RegistrationSource.DCR
    ).first()
    if client is None or not client.registration_access_token_hash or not registration_token:
        return None
    if not hmac.compare_digest(client.registration_access_token_hash, _hash(registration_token)):
        return None
    return client


@transaction.atomic
def update_registration(client: Client, metadata: dict, *, request=None) -> tuple[Client, str | None, str]:
    """RFC 7592 §2.2: the body replaces the whole registration; client_id must match and a
    client_secret, if sent, must be the current one."""
    if metadata.get("client_id") != client.client_id:
        raise RegistrationError("invalid_client_metadata", "client_id must be the registered client's.")
    if "client_secret" in metadata:
        if not check_password(str(metadata["client_secret"]), client.client_secret):
            raise RegistrationError("invalid_client_metadata", "client_secret does not match.")
    metadata = {
        k: v
        for k, v in metadata.items()
        if k
        not in (
            "client_id",
            "client_secret",
            "registration_access_token",
            "registration_client_uri",
            "client_id_issued_at",
            "client_secret_expires_at",
        )
    }
    spec, kept = spec_from_metadata(metadata, existing=client)
    actor = Ref("client", client.client_id, client.name or client.client_id)
    try:
        update_client(client, spec, actor=actor, request=request)
    except ValidationError as exc:
        raise _registration_error(exc) from exc
    client.registration_metadata = kept
    client.save(update_fields=["registration_metadata", "updated"])
    return client, None, _issue_registration_token(client)  # RFC 7592 §2.2: may rotate


def _keep_admin_settings(spec: ClientSpec, client: Client) -> None:
    """RFC 7592 §2.2 replaces the client's metadata, not what the tenant's admins decided about the
    client (portal settings that are not RFC 7591 metadata): those stay as they are."""
    spec.token_format = client.token_format
    spec.skip_consent = client.skip_authorization
    spec.allowed_origins = client.allowed_origins.split()
    if GrantType.TOKEN_EXCHANGE in spec.grant_types:  # a policy only exists with the grant
        spec.token_exchange_policy = client.token_exchange_policy
        spec.token_exchange_audiences = client.token_exchange_audiences.split()


def delete_registration(client: Client, *, request=None) -> None:
    delete_client(client, actor=Ref("client", client.client_id, client.name or client.client_id), request=request)
