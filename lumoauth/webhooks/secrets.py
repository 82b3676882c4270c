"""Signing secrets of subscriptions: Standard Webhooks form (`whsec_` + base64 of 32 random bytes),
stored AES-256-GCM encrypted under the key-encryption key that protects the signing keys.

The ciphertext is bound to its subscription (the associated data is the subscription's uid), so a
secret copied onto another row fails to decrypt instead of signing for the wrong receiver.
"""

import base64
import secrets as random

from lumoauth.encryption import decrypt_private_key, encrypt_private_key

PREFIX = "whsec_"
SECRET_BYTES = 32  # the Standard Webhooks specification asks for 24 to 64 bytes


def generate_secret() -> str:
    return PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def _associated_data(subscription_uid) -> str:
    return f"webhook:{subscription_uid}"


def encrypt_secret(secret: str, subscription_uid) -> bytes:
    return encrypt_private_key(secret.encode(), _associated_data(subscription_uid))


def decrypt_secret(blob: bytes, subscription_uid) -> str:
    """Raises lumoauth.encryption.KeyDecryptionError when the blob cannot be decrypted."""
    return decrypt_private_key(blob, _associated_data(subscription_uid)).decode()


def _callback_data(event_id) -> str:
    return f"callback:{event_id}"


def encrypt_credential(token: str, event_id) -> bytes:
    """The bearer token of a callback delivery, bound to its outbox message."""
    return encrypt_private_key(token.encode(), _callback_data(event_id))


def decrypt_credential(blob: bytes, event_id) -> str:
    return decrypt_private_key(blob, _callback_data(event_id)).decode()
