"""Client secrets: 256-bit random values, shown once, stored as HMAC-SHA256 under a server key.

A slow password hash buys nothing for a high-entropy secret and would cost every token request
hundreds of milliseconds; a keyed hash keeps a stolen database useless without the key.
"""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings
from django.contrib.auth.hashers import BasePasswordHasher
from django.utils.crypto import constant_time_compare

ALGORITHM = "lumoauth_hmac_sha256"


def generate_client_secret() -> str:
    return secrets.token_urlsafe(32)


def _pepper() -> bytes:
    return hashlib.sha256(b"lumoauth client secrets\x00" + settings.SECRET_KEY.encode()).digest()


class HMACClientSecretHasher(BasePasswordHasher):
    """Registered in PASSWORD_HASHERS after Argon2 so it is never used for user passwords;
    django-oauth-toolkit uses it through CLIENT_SECRET_HASHER."""

    algorithm = ALGORITHM

    def salt(self) -> str:
        return ""

    def encode(self, password: str, salt: str = "") -> str:
        digest = hmac.new(_pepper(), password.encode(), hashlib.sha256).digest()
        return f"{self.algorithm}${base64.b64encode(digest).decode()}"

    def decode(self, encoded: str) -> dict:
        algorithm, digest = encoded.split("$", 1)
        return {"algorithm": algorithm, "hash": digest, "salt": ""}

    def verify(self, password: str, encoded: str) -> bool:
        # Constant-time comparison of the keyed digests.
        return constant_time_compare(self.encode(password), encoded)

    def safe_summary(self, encoded: str) -> dict:
        return {"algorithm": self.algorithm, "hash": "********"}

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
