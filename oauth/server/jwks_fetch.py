"""A client's public keys for private_key_jwt: inline `jwks`, or fetched from `jwks_uri` (cached)."""

import json
import logging

from django.core.cache import cache
from jwcrypto import jwk

from lumoauth import outbound

log = logging.getLogger(__name__)
MAX_JWKS_BYTES = 64 * 1024
CACHE_SECONDS = 300


def _fetch(uri: str) -> dict | None:
    cache_key = f"client-jwks:{uri}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    try:
        # The SSRF policy (lumoauth/outbound.py): no private addresses, bounded in time and size.
        response = outbound.fetch(uri, timeout=5, max_bytes=MAX_JWKS_BYTES, follow_redirects=3)
        if response.status_code != 200 or response.truncated:
            raise ValueError(f"HTTP {response.status_code}" + (", document too large" if response.truncated else ""))
        document = json.loads(response.body)
    except (outbound.OutboundRefused, outbound.OutboundError, ValueError) as exc:
        log.warning("could not fetch jwks_uri %s: %s", uri, exc)
        return None
    cache.set(cache_key, document, CACHE_SECONDS)
    return document


def fetch_jwks_document(uri: str, *, refresh: bool = False) -> dict | None:
    """The JWKS document at `uri` (cached; `refresh` fetches it again, e.g. for an unknown kid after a
    key rotation). Also used for external OpenID Providers' keys (oauth/federation/provider_keys.py)."""
    if refresh:
        cache.delete(f"client-jwks:{uri}")
    return _fetch(uri)


def client_jwks(client) -> jwk.JWKSet | None:
    return public_key_set(client.jwks, client.jwks_uri)


def public_key_set(jwks: dict, jwks_uri: str) -> jwk.JWKSet | None:
    """The public keys of an inline JWK Set, else of the one at `jwks_uri` (a client's, or a trusted
    token issuer's for token exchange); None when there are none."""
    document = jwks or (_fetch(jwks_uri) if jwks_uri.startswith(("https://", "http://")) else None)
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
