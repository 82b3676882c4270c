"""Device authorizations (RFC 8628): started by a device, approved or denied by a person on the
user-code page, redeemed once by the device polling the token endpoint. Each change is audited.

The device code is 256 random bits, stored only as its SHA-256; the user code is stored normalised.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lumoauth.events.api import Outcome, record, user_ref

from ..models import Client, DeviceGrant
from ..services.consents import client_ref, grant_consent
from . import user_codes

# Statuses the token endpoint's device grant reports (oauthlib's DeviceCodeGrant constants).
AUTHORIZED = "authorized"
PENDING = "authorization_pending"
SLOW_DOWN = "slow_down"
EXPIRED = "expired_token"
DENIED = "access_denied"
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: slow_down adds 5 seconds to the interval


def device_code_digest(device_code: str) -> str:
    return hashlib.sha256(device_code.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StartedAuthorization:
    device_code: str
    user_code: str  # as shown: BDWP-HQPK
    expires_in: int
    interval: int


def start(client: Client, scopes: list[str], *, request=None) -> StartedAuthorization:
    """RFC 8628 §3.2: a new device code and user code for `client`, pending until a person decides."""
    lifetime = settings.LUMOAUTH_DEVICE_CODE_LIFETIME
    interval = settings.LUMOAUTH_DEVICE_POLL_INTERVAL
    device_code = secrets.token_urlsafe(32)
    now = timezone.now()
    for _attempt in range(5):
        user_code = user_codes.generate()
        # A user code names one pending authorization of the tenant at a time.
        if DeviceGrant.objects.filter(
            tenant=client.tenant, user_code=user_code, status=DeviceGrant.AUTHORIZATION_PENDING, expires__gt=now
        ).exists():
            continue
        try:
            with transaction.atomic():
                DeviceGrant.objects.create(
                    tenant=client.tenant,
                    client_id=client.client_id,
                    device_code=device_code_digest(device_code),
                    user_code=user_code,
                    scope=" ".join(scopes),
                    interval=interval,
                    expires=now + timedelta(seconds=lifetime),
                )
                record(
                    "oauth.device.authorization_started",
                    tenant=client.tenant,
                    actor=client_ref(client),
                    request=request,
                    target=client_ref(client),
                    details={"scope": " ".join(scopes), "expires_in": lifetime},
                )
        except IntegrityError:  # the same device code twice: 256 random bits make this theoretical
            device_code = secrets.token_urlsafe(32)
            continue
        return StartedAuthorization(device_code, user_codes.display(user_code), lifetime, interval)
    raise RuntimeError("could not allocate a unique user code")


def pending(tenant, user_code: str) -> DeviceGrant | None:
    """The authorization a person may decide on, by the normalised user code; None if unknown,
    decided or expired."""
    grant = (
        DeviceGrant.objects.filter(tenant=tenant, user_code=user_code, status=DeviceGrant.AUTHORIZATION_PENDING)
        .order_by("-pk")
        .first()
    )
    if grant is None or grant.expires <= timezone.now():
        return None
    return grant


def client_of(grant: DeviceGrant) -> Client | None:
    return Client.objects.filter(tenant=grant.tenant_id, client_id=grant.client_id).first()


@transaction.atomic
def decide(grant: DeviceGrant, user, *, allow: bool, auth_info: dict | None, request=None) -> bool:
    """Approve or deny; False if the authorization was decided or expired meanwhile."""
    client = client_of(grant)
    now = timezone.now()
    decided = DeviceGrant.objects.filter(pk=grant.pk, status=DeviceGrant.AUTHORIZATION_PENDING, expires__gt=now).update(
        status=DeviceGrant.AUTHORIZED if allow else DeviceGrant.DENIED,
        user=user,
        decided_at=now,
        auth_time=(auth_info or {}).get("auth_time"),
        amr=(auth_info or {}).get("amr") or [],
    )
    if not decided or client is None:
        return False
    scopes = grant.scope.split()
    if allow:
        grant_consent(user, client, scopes, request=request)
    record(
        "oauth.device.approved" if allow else "oauth.device.denied",
        tenant=client.tenant,
        actor=user_ref(user),
        request=request,
        target=client_ref(client),
        outcome=Outcome.SUCCESS if allow else Outcome.DENIED,
        details={"scope": grant.scope},
    )
    return True


def poll(tenant, client: Client, device_code: str) -> tuple[str | None, DeviceGrant | None]:
    """RFC 8628 §3.5: the status of a device code at the token endpoint. An approved code is
    redeemed here, once (None afterwards: invalid_grant); a device polling faster than its interval
    gets slow_down and an interval 5 seconds longer from then on."""
    if not device_code or len(device_code) > 200:
        return None, None
    grant = (
        DeviceGrant.objects.select_related("user")
        .filter(tenant=tenant, client_id=client.client_id, device_code=device_code_digest(device_code))
        .first()
    )
    if grant is None or grant.used_at is not None:
        return None, None
    now = timezone.now()
    if grant.status == DeviceGrant.DENIED:
        return DENIED, grant
    if grant.expires <= now or grant.status == DeviceGrant.EXPIRED:
        return EXPIRED, grant
    if grant.status == DeviceGrant.AUTHORIZED:
        redeemed = DeviceGrant.objects.filter(pk=grant.pk, used_at__isnull=True).update(used_at=now)
        if not redeemed or grant.user is None or not grant.user.is_active:
            return None, None
        return AUTHORIZED, grant
    too_soon = grant.last_polled_at is not None and now - grant.last_polled_at < timedelta(seconds=grant.interval)
    if too_soon:
        DeviceGrant.objects.filter(pk=grant.pk).update(interval=grant.interval + SLOW_DOWN_STEP, last_polled_at=now)
        return SLOW_DOWN, grant
    DeviceGrant.objects.filter(pk=grant.pk).update(last_polled_at=now)
    return PENDING, grant
