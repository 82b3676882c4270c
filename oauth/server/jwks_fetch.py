"""A client's public keys for private_key_jwt: inline `jwks`, or fetched from `jwks_uri` (cached)."""

import json
import logging
import urllib.request

from django.core.cache import cache
from jwcrypto import jwk

log = logging.getLogger(__name__)
MAX_JWKS_BYTES = 64 * 1024
CACHE_SECONDS = 300


def _fetch(uri: str) -> dict | None:
    cache_key = f"client-jwks:{uri}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    try:
        with urllib.request.urlopen(uri, timeout=5) as response:  # noqa: S310 (https/http only, validated)
            document = json.loads(response.read(MAX_JWKS_BYTES + 1)[:MAX_JWKS_BYTES])
    except (OSError, ValueError) as exc:
        log.warning("could not fetch jwks_uri %s: %s", uri, exc)
        return None
    cache.set(cache_key, document, CACHE_SECONDS)
    return document


def client_jwks(client) -> jwk.JWKSet | None:
    document = client.jwks or (_fetch(client.jwks_uri) if client.jwks_uri.startswith(("https://", "http://")) else None)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        return None
    try:
        keys = jwk.JWKSet()
        for key in document["keys"]:
            if isinstance(key, dict) and not {"d", "p", "q", "k"} & set(key):  # public keys only
                keys.add(jwk.JWK(**key))
        return keys if keys["keys"] else None
    except (jwk.InvalidJWKValue, ValueError, TypeError, KeyError):
        return None
