"""Secrets at rest (private signing keys, SAML keys, webhook and OpenID Connect client secrets):
AES-256-GCM under a key-encryption key (KEK) from the environment.

Stored format: a version byte, the random 12-byte nonce, then the ciphertext with its 16-byte tag.
The key's `kid` is the associated data, so a ciphertext copied onto another key's row (or a row whose
kid was edited) fails to decrypt instead of silently signing under the wrong identifier.
"""

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12  # the size GCM is specified for (NIST SP 800-38D §8.2)
KEK_BYTES = 32  # AES-256
DERIVATION_INFO = b"lumoauth key-encryption key"


class KeyDecryptionError(Exception):
    """The stored private key cannot be decrypted: wrong KEK, tampered bytes, or another key's row."""


def parse_key_encryption_key(value: str) -> bytes:
    """Decode LUMOAUTH_KEY_ENCRYPTION_KEY (url-safe base64 of 32 bytes, padding optional)."""
    text = value.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("LUMOAUTH_KEY_ENCRYPTION_KEY is not url-safe base64.") from exc
    if len(raw) != KEK_BYTES:
        raise ImproperlyConfigured(f"LUMOAUTH_KEY_ENCRYPTION_KEY must decode to {KEK_BYTES} bytes, not {len(raw)}.")
    return raw


def key_encryption_key() -> bytes:
    """The KEK, read from settings on every call (cheap) so a changed setting takes effect at once.

    Without an explicit KEK it is derived from SECRET_KEY. That is for development only (the deploy
    check lumoauth.W001 says so): it ties the private keys to SECRET_KEY, so rotating SECRET_KEY
    would make every tenant's signing keys unreadable.
    """
    configured = getattr(settings, "LUMOAUTH_KEY_ENCRYPTION_KEY", None)
    if configured:
        return parse_key_encryption_key(configured)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEK_BYTES, salt=None, info=DERIVATION_INFO)
    return hkdf.derive(settings.SECRET_KEY.encode())


def encrypt_private_key(plaintext: bytes, kid: str) -> bytes:
    # A random nonce per encryption: each key is encrypted once, so 96 random bits never collide
    # in practice under one KEK.
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_V1 + nonce + AESGCM(key_encryption_key()).encrypt(nonce, plaintext, kid.encode())


def decrypt_private_key(blob: bytes, kid: str) -> bytes:
    blob = bytes(blob)  # PostgreSQL hands BinaryField back as a memoryview
    if len(blob) <= 1 + NONCE_BYTES or blob[:1] != FORMAT_V1:
        raise KeyDecryptionError(f"signing key {kid}: unknown storage format")
    nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key_encryption_key()).decrypt(nonce, ciphertext, kid.encode())
    except InvalidTag as exc:
        raise KeyDecryptionError(
            f"signing key {kid}: decryption failed (wrong LUMOAUTH_KEY_ENCRYPTION_KEY, or the stored bytes changed)"
        ) from exc
