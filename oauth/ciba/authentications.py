"""CIBA authentication requests (CIBA Core §7-§11): started by a client for a user, decided by that
user (approval page or approval API), redeemed once at the token endpoint. Each step is audited.

The auth_req_id is 256 random bits (§7.3 asks for at least 128), stored only as its SHA-256. In ping
mode the id and the client's notification token must outlive the request that carried them, until
the user decides: they are kept AES-GCM encrypted, bound to the request, and handed to the outbox
as the ping callback (§10.2) in the transaction of the decision.
"""

import hashlib
import json
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauthlib.oauth2.rfc6749 import errors

from lumoauth.encryption import decrypt_private_key, encrypt_private_key
from lumoauth.events.api import Outcome, record, user_ref
from lumoauth.webhooks.notifications import NoNotificationChannel, notify
from lumoauth.webhooks.outbox import write_message

from ..models import BackchannelAuthentication, BackchannelDeliveryMode, Client
from ..services.consents import client_ref, grant_consent
from .errors import InvalidBindingMessageError

# Statuses reported to the token endpoint's CIBA grant (the error codes of CIBA Core §11).
AUTHORIZED = "authorized"
PENDING = "authorization_pending"
SLOW_DOWN = "slow_down"
EXPIRED = "expired_token"
DENIED = "access_denied"
SLOW_DOWN_STEP = 5  # CIBA Core §11: slow_down - "the interval MUST be increased by at least 5 seconds"

MAX_BINDING_MESSAGE = 64  # shown on a phone: short (CIBA Core §7.1 "relatively small")
MAX_NOTIFICATION_TOKEN = 1024
NOTIFICATION_KIND = "ciba.authentication_requested"
# RFC 6750 §2.1 b64token: the client_notification_token is sent back as a bearer credential.
_B64TOKEN = set(string.ascii_letters + string.digits + "-._~+/=")


def auth_req_id_digest(auth_req_id: str) -> str:
    return hashlib.sha256(auth_req_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Started:
    auth_req_id: str
    expires_in: int
    interval: int
    authentication: BackchannelAuthentication


def check_binding_message(text: str) -> str:
    """CIBA Core §7.1: displayed on both devices, so short and printable; else invalid_binding_message."""
    if len(text) > MAX_BINDING_MESSAGE or not text.isprintable():
        raise InvalidBindingMessageError()
    return text


def lifetime(requested_expiry: str | None) -> int:
    """Seconds the request lives: the client's requested_expiry (a positive integer, §7.1) capped at
    the operator's maximum, or the default."""
    if requested_expiry in (None, ""):
        return settings.LUMOAUTH_CIBA_DEFAULT_EXPIRY
    if not requested_expiry.isdigit() or int(requested_expiry) < 1 or len(requested_expiry) > 9:
        raise errors.InvalidRequestError(description="requested_expiry is a positive integer (seconds).")
    return min(int(requested_expiry), settings.LUMOAUTH_CIBA_MAX_EXPIRY)


def check_notification_token(client: Client, token: str | None) -> str | None:
    """Ping clients send a client_notification_token (§7.1: REQUIRED if ping mode); poll clients' is ignored."""
    if client.backchannel_token_delivery_mode != BackchannelDeliveryMode.PING:
        return None
    if not token:
        raise errors.InvalidRequestError(description="client_notification_token is required in ping mode.")
    if len(token) > MAX_NOTIFICATION_TOKEN or not set(token) <= _B64TOKEN:
        raise errors.InvalidRequestError(description="client_notification_token is not a bearer token (RFC 6750).")
    return token


def _ping_data(authentication: BackchannelAuthentication) -> str:
    return f"ciba-ping:{authentication.uid}"


@transaction.atomic
def start(
    client: Client,
    user,
    scopes: list[str],
    *,
    binding_message: str = "",
    expires_in: int,
    notification_token: str | None,
    approval_url,
    request=None,
) -> Started:
    """A pending request for `user`, and the user notified through the tenant's channel.
    `approval_url(authentication)` is the absolute URL of its approval page."""
    auth_req_id = secrets.token_urlsafe(32)
    mode = client.backchannel_token_delivery_mode or BackchannelDeliveryMode.POLL
    authentication = BackchannelAuthentication(
        tenant=client.tenant,
        client=client,
        user=user,
        auth_req_id=auth_req_id_digest(auth_req_id),
        scope=" ".join(scopes),
        binding_message=binding_message,
        delivery_mode=mode,
        interval=settings.LUMOAUTH_CIBA_POLL_INTERVAL,
        expires=timezone.now() + timedelta(seconds=expires_in),
    )
    if mode == BackchannelDeliveryMode.PING:
        ping = json.dumps({"auth_req_id": auth_req_id, "token": notification_token}).encode()
        authentication.ping_encrypted = encrypt_private_key(ping, _ping_data(authentication))
    authentication.save()
    channel = _notify(authentication, approval_url(authentication), request)
    record(
        "oauth.ciba.requested",
        tenant=client.tenant,
        actor=client_ref(client),
        request=request,
        target=user_ref(user),
        details={
            "request": str(authentication.uid),
            "scope": authentication.scope,
            "binding_message": binding_message,
            "delivery_mode": mode,
            "expires_in": expires_in,
            "notified_by": channel,
        },
    )
    return Started(auth_req_id, expires_in, authentication.interval, authentication)


def _notify(authentication: BackchannelAuthentication, url: str, request) -> str | None:
    """The notification to the user (the events work's notification path, delivered by Celery);
    the channel used, or None when the user has none - an app of the tenant can still find the
    request through the approval API."""
    client = authentication.client
    name = client.name or client.client_id
    message = f" It shows: {authentication.binding_message}." if authentication.binding_message else ""
    payload = {
        "request_id": str(authentication.uid),
        "approval_url": url,
        "client": {"client_id": client.client_id, "name": name},
        "binding_message": authentication.binding_message,
        "scope": authentication.scope,
        "expires_at": authentication.expires.isoformat(),
        "subject": f"{name} asks you to sign in",
        "text": f"{name} asks you to sign in.{message} Approve or deny it here: {url}",
    }
    try:
        (delivery, *_) = notify(
            authentication.user, NOTIFICATION_KIND, payload, actor=client_ref(client), request=request
        )
    except NoNotificationChannel:
        return None
    return delivery.channel


def find(tenant, uid) -> BackchannelAuthentication | None:
    return BackchannelAuthentication.objects.select_related("client", "user").filter(tenant=tenant, uid=uid).first()


def is_pending(authentication: BackchannelAuthentication) -> bool:
    return authentication.status == BackchannelAuthentication.Status.PENDING and authentication.expires > timezone.now()


def state(authentication: BackchannelAuthentication) -> str:
    """pending, approved, denied, or expired (pending past its lifetime)."""
    if authentication.status == BackchannelAuthentication.Status.PENDING and not is_pending(authentication):
        return "expired"
    return authentication.status


def pending_for(user) -> list[BackchannelAuthentication]:
    """The requests waiting for `user`'s decision, newest first."""
    return list(
        BackchannelAuthentication.objects.select_related("client")
        .filter(
            tenant=user.tenant_id,
            user=user,
            status=BackchannelAuthentication.Status.PENDING,
            expires__gt=timezone.now(),
        )
        .order_by("-created_at")[:50]
    )


@transaction.atomic
def decide(
    authentication: BackchannelAuthentication, user, *, allow: bool, auth_info: dict | None, request=None
) -> bool:
    """Approve or deny as `user` (who must be the user asked); False if it is not theirs, or was
    decided or expired meanwhile. In ping mode the client is called back (§10.2) either way."""
    if user.pk != authentication.user_id:
        return False
    now = timezone.now()
    decided = BackchannelAuthentication.objects.filter(
        pk=authentication.pk, status=BackchannelAuthentication.Status.PENDING, expires__gt=now
    ).update(
        status=BackchannelAuthentication.Status.APPROVED if allow else BackchannelAuthentication.Status.DENIED,
        decided_at=now,
        auth_time=(auth_info or {}).get("auth_time"),
        amr=(auth_info or {}).get("amr") or [],
    )
    if not decided:
        return False
    client = authentication.client
    if allow:
        grant_consent(user, client, authentication.scope.split(), request=request)
    pinged = _queue_ping(authentication)
    record(
        "oauth.ciba.approved" if allow else "oauth.ciba.denied",
        tenant=authentication.tenant,
        actor=user_ref(user),
        request=request,
        target=client_ref(client),
        outcome=Outcome.SUCCESS if allow else Outcome.DENIED,
        details={"request": str(authentication.uid), "scope": authentication.scope, "ping": pinged},
    )
    return True


def _queue_ping(authentication: BackchannelAuthentication) -> bool:
    """CIBA Core §10.2: POST {"auth_req_id": ...} with the client_notification_token as bearer to the
    client's notification endpoint, through the outbox (retried, swept, SSRF-checked)."""
    client = authentication.client
    endpoint = client.backchannel_client_notification_endpoint
    if (
        authentication.delivery_mode != BackchannelDeliveryMode.PING
        or not authentication.ping_encrypted
        or not endpoint
    ):
        return False
    ping = json.loads(decrypt_private_key(authentication.ping_encrypted, _ping_data(authentication)))
    write_message(
        authentication.tenant_id,
        "ciba.ping",
        {"auth_req_id": ping["auth_req_id"]},
        callback=(endpoint, ping["token"]),
    )
    return True


def poll(tenant, client: Client, auth_req_id: str) -> tuple[str | None, BackchannelAuthentication | None]:
    """CIBA Core §10.1, §11: the status of an auth_req_id at the token endpoint. An approved request
    is redeemed here, once (None afterwards: invalid_grant); polling faster than the interval gets
    slow_down and an interval 5 seconds longer from then on."""
    if not auth_req_id or len(auth_req_id) > 200:
        return None, None
    authentication = (
        BackchannelAuthentication.objects.select_related("user")
        .filter(tenant=tenant, client=client, auth_req_id=auth_req_id_digest(auth_req_id))
        .first()
    )
    if authentication is None or authentication.used_at is not None:
        return None, None
    now = timezone.now()
    status = authentication.status
    if status == BackchannelAuthentication.Status.DENIED:
        return DENIED, authentication
    if authentication.expires <= now:  # approved or not: tokens are fetched within the lifetime
        return EXPIRED, authentication
    if status == BackchannelAuthentication.Status.APPROVED:
        redeemed = BackchannelAuthentication.objects.filter(pk=authentication.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not redeemed or not authentication.user.is_active:
            return None, None
        return AUTHORIZED, authentication
    last = authentication.last_polled_at
    if last is not None and now - last < timedelta(seconds=authentication.interval):
        BackchannelAuthentication.objects.filter(pk=authentication.pk).update(
            interval=authentication.interval + SLOW_DOWN_STEP, last_polled_at=now
        )
        return SLOW_DOWN, authentication
    BackchannelAuthentication.objects.filter(pk=authentication.pk).update(last_polled_at=now)
    return PENDING, authentication
