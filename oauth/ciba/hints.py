"""Who a CIBA request is for (CIBA Core §7.1): exactly one of `login_hint` (a username or email of
the tenant), `id_token_hint` (an ID token this tenant issued; an expired one is fine, as for
logout), or `login_hint_token` (a JWT signed with the client's registered keys, naming the user by
an RFC 9493 subject identifier: `{"sub_id": {"format": "email", "email": ...}}`, format `opaque`
with our `sub` as `id`, or `iss_sub` with this issuer).

Only active users of the tenant are ever found; anything else is `unknown_user_id`.
"""

import json
import time
import uuid

from jwcrypto import jwk, jwt
from jwcrypto.common import JWException
from oauthlib.oauth2.rfc6749 import errors

from tenants.models import User

from ..server.client_auth import ASSERTION_ALGS
from ..server.jwks_fetch import client_jwks
from ..tokens import signing
from .errors import ExpiredLoginHintTokenError, UnknownUserIdError

HINTS = ("login_hint", "id_token_hint", "login_hint_token")
MAX_HINT_LENGTH = 8192


def identify_user(client, issuer: str, params) -> User:
    """The user the request names; raises an oauthlib OAuth2Error."""
    given = [name for name in HINTS if params.get(name)]
    if len(given) != 1:  # CIBA Core §7.1: "one (and only one) of the hints"
        raise errors.InvalidRequestError(description="Send exactly one of login_hint, id_token_hint, login_hint_token.")
    (name,) = given
    value = params[name]
    if len(value) > MAX_HINT_LENGTH:
        raise errors.InvalidRequestError(description=f"The {name} is too long.")
    tenant = client.tenant
    if name == "login_hint":
        return _by_identifier(tenant, value)
    if name == "id_token_hint":
        claims = signing.verify(tenant, value, check_expiry=False)
        if claims is None or claims.get("iss") != issuer:
            raise errors.InvalidRequestError(description="The id_token_hint was not issued by this organization.")
        return _by_sub(tenant, claims.get("sub"))
    return _by_login_hint_token(client, issuer, value)


def _active(user: User | None) -> User:
    if user is None or not user.is_active:
        raise UnknownUserIdError()
    return user


def _by_identifier(tenant, identifier: str) -> User:
    """As the sign-in page matches (tenants.backends): the username, else the email."""
    identifier = identifier.strip()
    users = User.objects.filter(tenant=tenant)
    user = users.filter(username__iexact=identifier).first()
    if user is None and "@" in identifier:
        user = users.filter(email__iexact=identifier).first()
    return _active(user)


def _by_sub(tenant, sub) -> User:
    try:
        sub = uuid.UUID(str(sub))
    except ValueError:
        raise UnknownUserIdError() from None
    return _active(User.objects.filter(tenant=tenant, sub=sub).first())


def _by_login_hint_token(client, issuer: str, token: str) -> User:
    keys = client_jwks(client)
    if keys is None:
        raise errors.InvalidRequestError(
            description="A login_hint_token must be signed with the client's registered keys (jwks or jwks_uri)."
        )
    try:
        # The signature here; expiry below, so that an expired token gets its own error code.
        verified = jwt.JWT(jwt=token, key=keys, algs=ASSERTION_ALGS, check_claims=False)
        claims = json.loads(verified.claims)
    except (JWException, ValueError, TypeError, jwk.InvalidJWKValue):
        raise errors.InvalidRequestError(description="The login_hint_token is not signed by this client.") from None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, (int, float)):
        raise errors.InvalidRequestError(description="The login_hint_token has no exp claim.")
    if exp <= time.time():
        raise ExpiredLoginHintTokenError()
    subject = claims.get("sub_id")
    if not isinstance(subject, dict):
        raise errors.InvalidRequestError(description="The login_hint_token has no sub_id (RFC 9493) claim.")
    form = subject.get("format")
    if form == "email" and isinstance(subject.get("email"), str):
        return _active(User.objects.filter(tenant=client.tenant, email__iexact=subject["email"]).first())
    if form == "opaque":
        return _by_sub(client.tenant, subject.get("id"))
    if form == "iss_sub" and subject.get("iss") == issuer:
        return _by_sub(client.tenant, subject.get("sub"))
    raise errors.InvalidRequestError(description="Unsupported sub_id: use format email, opaque or iss_sub.")
