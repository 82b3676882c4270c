"""Key pairs per JWS algorithm (RFC 7518 §3): generation, storage encoding, JWK forms."""

import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto.jwk import JWK

RSA_KEY_BITS = 2048  # RFC 7518 §3.3 and §3.5: 2048 bits or larger
DEFAULT_ALG = "RS256"
ALGORITHMS = ("RS256", "ES256", "PS256")

# The only JWK members ever published (RFC 7517 §4, RFC 7518 §6.2.1 and §6.3.1): an allow-list, so
# a private member (d, p, q, dp, dq, qi) can never reach a JWKS document even if it got stored.
PUBLIC_MEMBERS = frozenset({"kty", "kid", "alg", "use", "n", "e", "crv", "x", "y"})

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def check_alg(alg: str) -> str:
    if alg not in ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg!r}; use one of {', '.join(ALGORITHMS)}")
    return alg


def new_kid() -> str:
    """A random key id: 16 bytes, url-safe base64. Random rather than a thumbprint so the kid says
    nothing about the key and two tenants can never collide by importing the same key."""
    return secrets.token_urlsafe(16)


def generate_private_key(alg: str) -> PrivateKey:
    if check_alg(alg) == "ES256":
        return ec.generate_private_key(ec.SECP256R1())  # RFC 7518 §3.4: ES256 is P-256
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)


def private_key_bytes(key: PrivateKey) -> bytes:
    """PKCS#8 DER, unencrypted: only ever handed to encryption.encrypt_private_key."""
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _jwk(key: PrivateKey, kid: str, alg: str) -> JWK:
    jwk = JWK()
    jwk.import_from_pyca(key)
    # `alg` on the key makes jwcrypto refuse to use it with another algorithm; `use` per RFC 7517 §4.2.
    jwk.update(kid=kid, alg=alg, use="sig")
    return jwk


def public_jwk(key: PrivateKey, kid: str, alg: str) -> dict[str, Any]:
    return public_members(_jwk(key, kid, alg).export_public(as_dict=True))


def public_members(jwk: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in jwk.items() if name in PUBLIC_MEMBERS}


def load_private_jwk(der: bytes, kid: str, alg: str) -> JWK:
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"signing key {kid}: unexpected key type {type(key).__name__}")
    return _jwk(key, kid, alg)
