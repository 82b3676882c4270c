"""Sign and verify the tenant's JWTs with its signing keys (tenants.signing_keys)."""

import json

from jwcrypto import jws, jwt
from jwcrypto.common import JWException

from tenants.signing_keys.api import signing_key, verification_key


def sign(tenant, claims: dict, typ: str = "JWT") -> str:
    material = signing_key(tenant)
    token = jwt.JWT(header={"alg": material.alg, "typ": typ, "kid": material.kid}, claims=claims)
    token.make_signed_token(material.jwk)
    return token.serialize()


def verify(tenant, token: str, *, check_expiry: bool = True) -> dict | None:
    """The claims of a JWT signed by one of `tenant`'s published keys, or None.

    Expiry is checked unless asked not to (RP-initiated logout accepts an expired id_token_hint).
    The issuer is checked by the caller, who knows which issuer to expect.
    """
    try:
        header = jws.JWS()
        header.deserialize(token)
        kid = header.jose_header.get("kid")
        key = verification_key(tenant, kid) if kid else None
        if key is None:
            return None
        checked = jwt.JWT(
            jwt=token, key=key, algs=["RS256", "PS256", "ES256"], check_claims={} if not check_expiry else None
        )
        return json.loads(checked.claims)
    except (JWException, ValueError, TypeError, KeyError):
        return None
