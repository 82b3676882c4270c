"""Public functions of per-tenant signing keys (see docs/signing-keys.md)."""

from lumoauth.encryption import KeyDecryptionError

from .health import key_health
from .keypairs import ALGORITHMS, DEFAULT_ALG
from .models import SigningKey
from .service import (
    SigningMaterial,
    ensure_keys,
    jwks,
    jwks_cache_key,
    published_keys,
    rotate_keys,
    signing_key,
    verification_key,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALG",
    "KeyDecryptionError",
    "SigningKey",
    "SigningMaterial",
    "ensure_keys",
    "jwks",
    "jwks_cache_key",
    "key_health",
    "published_keys",
    "rotate_keys",
    "signing_key",
    "verification_key",
]
