"""The only code that creates and rotates signing keys; every change records its audit event in
the same transaction. Readers (signing_key, jwks, verification_key) are cheap enough for every
token request: one indexed query each, private keys decrypted once per process.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from jwcrypto.jwk import JWK

from lumoauth.encryption import decrypt_private_key, encrypt_private_key
from lumoauth.events.api import Ref, record
from lumoauth.memo import TTLMemo

from ..models import Tenant
from .keypairs import (
    DEFAULT_ALG,
    check_alg,
    generate_private_key,
    load_private_jwk,
    new_kid,
    private_key_bytes,
    public_jwk,
    public_members,
)
from .models import ACTIVE_SLOT, NEXT_SLOT, SigningKey

# JWKS order: the signing key first (some clients take the first key when a token has no kid).
_PUBLISHED_ORDER = {SigningKey.State.ACTIVE: 0, SigningKey.State.NEXT: 1, SigningKey.State.RETIRING: 2}
# Decrypted private keys by kid. A kid's key material never changes, so entries never go stale;
# which kid is active is still read from the database on every call, so a rotation made by any
# process takes effect at once everywhere. Bounded so a process serving many tenants stays small.
_PRIVATE_JWK_CACHE: dict[str, JWK] = {}
_PRIVATE_JWK_CACHE_SIZE = 1024


@dataclass(frozen=True)
class SigningMaterial:
    """What a token issuer needs: put `kid` and `alg` in the JOSE header, sign with `jwk`.

    `jwk` holds the PRIVATE key and is shared by every caller in the process: never mutate it,
    never serialize it.
    """

    kid: str
    alg: str
    jwk: JWK


def key_ref(key: SigningKey) -> Ref:
    return Ref("signing_key", key.kid, f"{key.alg} {key.kid}")


def _create_key(
    tenant: Tenant, alg: str, *, activated_at: datetime | None, actor: Ref | None, request: Any
) -> SigningKey:
    kid = new_kid()
    private_key = generate_private_key(alg)
    key = SigningKey.objects.create(
        tenant=tenant,
        kid=kid,
        alg=alg,
        public_jwk=public_jwk(private_key, kid, alg),
        private_key_encrypted=encrypt_private_key(private_key_bytes(private_key), kid),
        activated_at=activated_at,
    )
    record(
        "signing_key.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=key_ref(key),
        details={"alg": alg, "state": str(key.state_at(activated_at or timezone.now()))},
    )
    return key


def _lock(tenant: Tenant) -> None:
    # Serializes key changes per tenant: two processes signing a new tenant's first token, or two
    # operators rotating at once, must not both act on the same "current" keys. (A no-op on SQLite,
    # whose writers are serialized anyway; the partial unique constraints are the last line.)
    Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk", flat=True).get()


def _slot(tenant: Tenant, condition) -> SigningKey | None:
    return SigningKey.objects.filter(condition, tenant=tenant).first()


def _retire(key: SigningKey, now: datetime) -> None:
    """Stop signing with `key`; keep it published until everything it signed has expired."""
    unpublish_after = now + timedelta(seconds=settings.LUMOAUTH_SIGNED_TOKEN_MAX_LIFETIME)
    if key.unpublish_after is not None:  # never extend an earlier (e.g. emergency) unpublication
        unpublish_after = min(unpublish_after, key.unpublish_after)
    key.retired_at, key.unpublish_after = now, unpublish_after
    key.save(update_fields=["retired_at", "unpublish_after"])


def _promote(
    tenant: Tenant, *, alg: str | None, actor: Ref | None, request: Any
) -> tuple[SigningKey, SigningKey | None]:
    """Make the next key active (creating one if there is none) and retire the current active key.
    Returns (promoted, retired). The caller holds the tenant lock."""
    now = timezone.now()
    old = _slot(tenant, ACTIVE_SLOT)
    promoted = _slot(tenant, NEXT_SLOT)
    if promoted is None:
        promoted = _create_key(
            tenant, alg or (old.alg if old else DEFAULT_ALG), activated_at=None, actor=actor, request=request
        )
    # Retire first: the one-active-key constraint is checked row by row.
    if old is not None:
        _retire(old, now)
    promoted.activated_at = now
    promoted.save(update_fields=["activated_at"])
    return promoted, old


@transaction.atomic
def ensure_keys(tenant: Tenant, alg: str = DEFAULT_ALG, *, actor: Ref | None = None, request: Any = None) -> SigningKey:
    """Make sure `tenant` has an active key and a next key; returns the active key. Idempotent."""
    check_alg(alg)
    _lock(tenant)
    active = _slot(tenant, ACTIVE_SLOT)
    if active is None and _slot(tenant, NEXT_SLOT) is None:
        # A brand-new tenant: nothing was ever published, so no verifier can be waiting for a next
        # key, and the first key may sign at once.
        active = _create_key(tenant, alg, activated_at=timezone.now(), actor=actor, request=request)
    elif active is None or not active.is_published_at(timezone.now()):
        # The tenant lost its active key, or someone unpublished it by hand (say, it leaked): the
        # next key, which verifiers may already have, takes over, as in a rotation.
        active, retired = _promote(tenant, alg=alg, actor=actor, request=request)
        _active_kid.forget_changed(tenant.pk)
        upcoming = _create_key(tenant, active.alg, activated_at=None, actor=actor, request=request)
        _record_rotation(tenant, active, retired, upcoming, actor=actor, request=request)
    if _slot(tenant, NEXT_SLOT) is None:
        _create_key(tenant, active.alg, activated_at=None, actor=actor, request=request)
    return active


@transaction.atomic
def rotate_keys(tenant: Tenant, *, alg: str | None = None, actor: Ref | None = None, request: Any = None) -> SigningKey:
    """Promote the next key to active, retire the active one, publish a new next key.

    The promoted key was published when it was created, so verifiers that cached the JWKS already
    know it; the retired key stays published for LUMOAUTH_SIGNED_TOKEN_MAX_LIFETIME seconds, until
    everything it signed has expired. `alg` applies to the new next key (the key promoted now was
    published with its own algorithm), so an algorithm change signs from the following rotation.
    Returns the new active key.
    """
    if alg is not None:
        check_alg(alg)
    _lock(tenant)
    promoted, retired = _promote(tenant, alg=alg, actor=actor, request=request)
    _active_kid.forget_changed(tenant.pk)
    upcoming = _create_key(tenant, alg or promoted.alg, activated_at=None, actor=actor, request=request)
    # The JWKS served from cache should list the new next key at once (not JWKS_CACHE_SECONDS later).
    transaction.on_commit(lambda: cache.delete(jwks_cache_key(tenant)))
    _record_rotation(tenant, promoted, retired, upcoming, actor=actor, request=request)
    return promoted


def _record_rotation(
    tenant: Tenant,
    active: SigningKey,
    retired: SigningKey | None,
    upcoming: SigningKey | None = None,
    *,
    actor: Ref | None,
    request: Any,
) -> None:
    record(
        "signing_key.rotated",
        tenant=tenant,
        actor=actor,
        request=request,
        target=key_ref(active),
        details={
            "active": active.kid,
            "alg": active.alg,
            "retiring": retired.kid if retired else None,
            "unpublish_after": retired.unpublish_after.isoformat() if retired else None,
            "next": upcoming.kid if upcoming else None,
        },
    )


# Which key signs, memoised briefly: after a rotation another process may sign a few more seconds
# with the retiring key, which stays published, so its tokens still verify.
_active_kid = TTLMemo(10)


def _active_row(tenant: Tenant) -> tuple[str, str] | None:
    return SigningKey.objects.active().filter(tenant=tenant).values_list("kid", "alg").first()


def signing_key(tenant: Tenant) -> SigningMaterial:
    """The tenant's active signing key, with its private JWK. Creates the keys of a tenant that
    has none (tenants made before signing keys existed)."""
    row = _active_kid.get(tenant.pk, lambda: _active_row(tenant))
    if row is None:
        active = ensure_keys(tenant)
        _active_kid.forget(tenant.pk)
        row = (active.kid, active.alg)
    kid, alg = row
    jwk = _PRIVATE_JWK_CACHE.get(kid)
    if jwk is None:
        encrypted = SigningKey.objects.filter(kid=kid).values_list("private_key_encrypted", flat=True).get()
        jwk = load_private_jwk(decrypt_private_key(encrypted, kid), kid, alg)
        if len(_PRIVATE_JWK_CACHE) >= _PRIVATE_JWK_CACHE_SIZE:
            _PRIVATE_JWK_CACHE.pop(next(iter(_PRIVATE_JWK_CACHE)), None)  # oldest first
        _PRIVATE_JWK_CACHE[kid] = jwk
    return SigningMaterial(kid=kid, alg=alg, jwk=jwk)


def forget_cached_keys() -> None:
    """Drop the decrypted keys of this process (tests; after changing the KEK)."""
    _PRIVATE_JWK_CACHE.clear()


def published_keys(tenant: Tenant) -> list[SigningKey]:
    """The tenant's next, active and retiring keys, the active one first."""
    now = timezone.now()
    keys = list(SigningKey.objects.published(now).filter(tenant=tenant))
    if not any(key.state_at(now) == SigningKey.State.ACTIVE for key in keys):
        ensure_keys(tenant)  # a tenant made before signing keys existed
        keys = list(SigningKey.objects.published(now).filter(tenant=tenant))
    return sorted(keys, key=lambda key: (_PUBLISHED_ORDER[key.state_at(now)], key.created_at))


def jwks_cache_key(tenant: Tenant) -> str:
    """Where the served JWKS document is cached (oauth/endpoints/discovery.py); dropped on every key change."""
    return f"jwks:{tenant.pk}"


def jwks(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """The tenant's JWK Set (RFC 7517 §5): public members only."""
    return {"keys": [public_members(key.public_jwk) for key in published_keys(tenant)]}


def verification_key(tenant: Tenant, kid: str) -> JWK | None:
    """The public key with this kid if it is one of THIS tenant's published keys; None for an
    unknown kid, an expired key or another tenant's key (all look the same to the caller)."""
    if not isinstance(kid, str) or not kid:
        return None
    members = SigningKey.objects.published().filter(tenant=tenant, kid=kid).values_list("public_jwk", flat=True).first()
    return JWK(**public_members(members)) if members else None
