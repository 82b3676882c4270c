"""An OpenID Provider's public keys (its jwks_uri), as a joserfc KeySet.

Fetched through oauth/server/jwks_fetch.py (outbound policy, size cap, cached). An ID token signed
with a key id we do not know yet makes one fresh fetch (the provider rotated its keys), at most once
a minute per jwks_uri so a stream of forged kids cannot make us hammer the provider.
"""

import hashlib

from django.core.cache import cache
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from oauth.server.jwks_fetch import fetch_jwks_document

REFRESH_INTERVAL = 60
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}
SIGNING_KEY_TYPES = {"RSA", "EC", "OKP"}


def _public_signing_keys(document: dict | None) -> list[dict]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        return []
    return [
        key
        for key in document["keys"]
        if isinstance(key, dict)
        and key.get("kty") in SIGNING_KEY_TYPES
        and not PRIVATE_MEMBERS & set(key)
        and key.get("use", "sig") == "sig"
    ]


def key_set(jwks_uri: str, *, refresh: bool = False) -> KeySet | None:
    """The provider's signing keys, or None when they cannot be fetched or none is usable."""
    if refresh:
        marker = "oidc-jwks-refreshed:" + hashlib.sha256(jwks_uri.encode()).hexdigest()
        if not cache.add(marker, 1, REFRESH_INTERVAL):
            return None  # refreshed a moment ago: the unknown kid is not a rotation
    keys = []
    for key in _public_signing_keys(fetch_jwks_document(jwks_uri, refresh=refresh)):
        try:
            keys.append(KeySet.import_key_set({"keys": [key]}).keys[0])
        except (JoseError, ValueError, TypeError, KeyError):
            continue  # one malformed key does not hide the others
    return KeySet(keys) if keys else None
