"""SCIM tokens: 256-bit random bearer tokens of one tenant, stored as SHA-256 (each change audited)."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from lumoauth.events.api import Ref, record

from .models import SCIMToken

TOKEN_PREFIX = "scim_"
LAST_USED_PRECISION = timedelta(minutes=1)  # spare a write on every request


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_ref(token: SCIMToken) -> Ref:
    return Ref("scim_token", str(token.pk), token.label or f"SCIM token {token.pk}")


@transaction.atomic
def create_scim_token(
    tenant, *, label: str = "", token: str | None = None, actor: Ref | None = None, request=None
) -> tuple[SCIMToken, str]:
    """A new token, returned in plain text this once (`token` only for the quickstart demo)."""
    token = token or TOKEN_PREFIX + secrets.token_urlsafe(32)
    saved = SCIMToken.objects.create(tenant=tenant, label=label, token_hash=_hash(token))
    record("scim_token.created", tenant=tenant, actor=actor, request=request, target=token_ref(saved))
    return saved, token


@transaction.atomic
def revoke_scim_token(token: SCIMToken, *, actor: Ref | None = None, request=None) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record("scim_token.revoked", tenant=token.tenant, actor=actor, request=request, target=token_ref(token))


def scim_token_exists(tenant, token: str) -> bool:
    return SCIMToken.objects.filter(tenant=tenant, token_hash=_hash(token)).exists()


def authenticate(tenant, presented: str) -> SCIMToken | None:
    """The live token of `tenant` matching `presented`; another tenant's token is simply unknown."""
    if not presented or len(presented) > 512:
        return None
    token = SCIMToken.objects.filter(tenant=tenant, token_hash=_hash(presented), revoked_at__isnull=True).first()
    if token is not None and (token.last_used_at is None or timezone.now() - token.last_used_at > LAST_USED_PRECISION):
        SCIMToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token
