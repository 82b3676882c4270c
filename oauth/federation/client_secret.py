"""The connection's client secret at rest: AES-256-GCM under the key-encryption key, like the
tenants' private keys (lumoauth/encryption.py). The associated data names the tenant
and the connection, so a ciphertext copied onto another connection's row does not decrypt."""

from lumoauth.encryption import KeyDecryptionError, decrypt_private_key, encrypt_private_key

from .models import OIDCConnection


class SecretUnavailable(Exception):
    """The stored secret cannot be decrypted (wrong key-encryption key, or the row was tampered with)."""


def _associated_data(connection: OIDCConnection) -> str:
    return f"oidc-client-secret:{connection.tenant_id}:{connection.slug}"


def seal(connection: OIDCConnection, secret: str) -> None:
    connection.client_secret_encrypted = encrypt_private_key(secret.encode(), _associated_data(connection))


def unseal(connection: OIDCConnection) -> str:
    blob = bytes(connection.client_secret_encrypted or b"")
    if not blob:
        return ""
    try:
        return decrypt_private_key(blob, _associated_data(connection)).decode()
    except (KeyDecryptionError, UnicodeDecodeError) as exc:
        raise SecretUnavailable(str(exc)) from exc
