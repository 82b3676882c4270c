"""What the retention job (lumoauth/retention/api.py) deletes of the authorization server's rows: each
kind once it has been unusable for LUMOAUTH_RETENTION_GRACE_HOURS (before the cutoff below).

- Refresh tokens, a rotation family at a time, once no member of the family was usable at the cutoff
  (not revoked by then, within its client's refresh_token_lifetime). While one is, its revoked
  predecessors stay: presenting one of them revokes the family (reuse detection, RFC 9700 §4.14.2).
  A token whose access token was revoked (unusable, DOT refuses it) counts until its lifetime ends.
- Access tokens expired before the cutoff that no refresh token is bound to (a refresh token reads
  its scope from its access token).
- ID tokens expired before the cutoff that no access token refers to.
- Authorization codes expired before the cutoff that no token refers to: a used code stays as long
  as what it issued does, so a replay can still revoke it (RFC 6749 §4.1.2).
- Device authorizations and CIBA requests expired before the cutoff, whatever their status.
- Pushed authorization requests once their request_uri expired and a browser that claimed it could
  no longer use it (CLAIMED_SECONDS later), before the cutoff.

DOT's clear_expired() (`manage.py cleartokens`) does not fit these models: it knows one global
REFRESH_TOKEN_EXPIRE_SECONDS (unset: lifetimes are per client), so it never deletes a revoked
refresh token, nor an expired one and its access token; and it deletes codes as soon as they expire.
Configuration rows (clients, consents, initial access tokens, ...) are not purged: admins see them.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from lumoauth.retention.api import delete_in_batches, purger

from .models import (
    AccessToken,
    BackchannelAuthentication,
    DeviceGrant,
    Grant,
    IDToken,
    PushedAuthorizationRequest,
    RefreshToken,
)
from .pushed_requests import CLAIMED_SECONDS
from .tokens.refresh import usable_at


def _cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=settings.LUMOAUTH_RETENTION_GRACE_HOURS)


@purger(order=30)
def refresh_tokens(now: datetime, *, dry_run: bool = False) -> Counter:
    usable = RefreshToken.objects.filter(usable_at(_cutoff(now)))
    family = Q(token_family=OuterRef("token_family")) | Q(pk=OuterRef("pk"))  # itself, when it has none
    dead = RefreshToken.objects.filter(~Exists(usable.filter(family)))
    return delete_in_batches(dead, dry_run=dry_run)


@purger(order=31)
def access_tokens(now: datetime, *, dry_run: bool = False) -> Counter:
    expired = AccessToken.objects.filter(expires__lt=_cutoff(now)).filter(
        ~Exists(RefreshToken.objects.filter(access_token=OuterRef("pk")))
    )
    return delete_in_batches(expired, dry_run=dry_run)


@purger(order=32)
def id_tokens(now: datetime, *, dry_run: bool = False) -> Counter:
    expired = IDToken.objects.filter(expires__lt=_cutoff(now)).filter(
        ~Exists(AccessToken.objects.filter(id_token=OuterRef("pk")))
    )
    return delete_in_batches(expired, dry_run=dry_run)


@purger(order=33)
def authorization_codes(now: datetime, *, dry_run: bool = False) -> Counter:
    expired = Grant.objects.filter(expires__lt=_cutoff(now)).filter(
        ~Exists(AccessToken.objects.filter(grant=OuterRef("pk"))),
        ~Exists(RefreshToken.objects.filter(grant=OuterRef("pk"))),
    )
    return delete_in_batches(expired, dry_run=dry_run)


@purger(order=34)
def device_authorizations(now: datetime, *, dry_run: bool = False) -> Counter:
    return delete_in_batches(DeviceGrant.objects.filter(expires__lt=_cutoff(now)), dry_run=dry_run)


@purger(order=35)
def backchannel_authentications(now: datetime, *, dry_run: bool = False) -> Counter:
    return delete_in_batches(BackchannelAuthentication.objects.filter(expires__lt=_cutoff(now)), dry_run=dry_run)


@purger(order=36)
def pushed_authorization_requests(now: datetime, *, dry_run: bool = False) -> Counter:
    before = _cutoff(now) - timedelta(seconds=CLAIMED_SECONDS)
    return delete_in_batches(PushedAuthorizationRequest.objects.filter(expires_at__lt=before), dry_run=dry_run)
