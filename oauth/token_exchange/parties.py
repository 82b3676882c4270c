"""Who a presented subject or actor token stands for (RFC 8693 §2.1).

Tokens of this tenant are looked up (access and refresh tokens, stored hashed) or verified with the
tenant's keys (ID tokens, JWTs); JWTs of other issuers are accepted only from a `TrustedIssuer` of
the tenant, verified with its keys; SAML 2.0 assertions only from an active IdP connection of the
tenant (oauth/token_exchange/saml_assertions.py). Anything else is `TokenRejected`, which the token
endpoint answers with invalid_request (RFC 8693 §2.2.2).
"""

import json
import time
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException

from tenants.models import FederatedIdentity, User

from .. import scopes as scope_catalogue
from ..models import AccessToken, Client, IDToken, RefreshToken, SubjectMatch, TrustedIssuer
from ..server.jwks_fetch import public_key_set
from ..server.validator import checksum
from ..tokens import signing
from . import saml_assertions, token_types

MAX_TOKEN_LENGTH = 16 * 1024
JWT_ALGS = ["RS256", "PS256", "ES256"]
CLOCK_SKEW = 60
# What a token that only proves who someone is (an ID token without a record, a SAML assertion) can
# be exchanged for at most: the identity scopes, never API scopes.
IDENTITY_SCOPES = frozenset({"openid", "profile", "email", "phone", "address"})


class TokenRejected(Exception):
    """The token is unknown, expired, revoked, foreign, or not acceptable in its role."""


@dataclass
class Party:
    """The subject or the actor of an exchange."""

    token_type: str
    sub: str
    issuer: str
    user: User | None = None
    scopes: frozenset[str] = frozenset()
    act: dict | None = None  # the delegation chain the token already carries (RFC 8693 §4.1)
    may_act: dict | None = None  # who may act for this subject (RFC 8693 §4.4)
    expires_at: float | None = None
    external: bool = False  # issued outside this tenant (trusted issuer, SAML IdP)
    details: dict = field(default_factory=dict)  # for the audit trail

    def actor_claim(self) -> dict:
        """This party as the `act` claim names it: sub, and iss when it is not this tenant."""
        claim = {"sub": self.sub}
        if self.external:
            claim["iss"] = self.issuer
        return claim

    def summary(self) -> dict:
        return {"sub": self.sub, "iss": self.issuer, "token_type": self.token_type, **self.details}


def resolve(token: str, token_type: str, *, tenant, issuer: str, client: Client, role: str, request=None) -> Party:
    """`role` is "subject" or "actor"."""
    if not token or len(token) > (
        saml_assertions.MAX_ENCODED_LENGTH if token_type == token_types.SAML2 else MAX_TOKEN_LENGTH
    ):
        raise TokenRejected(f"The {role}_token is missing or too long.")
    if token_type == token_types.ACCESS_TOKEN:
        return _access_token(token, tenant, issuer, token_type)
    if token_type == token_types.REFRESH_TOKEN:
        return _refresh_token(token, tenant, issuer, client)
    if token_type == token_types.ID_TOKEN:
        return _id_token(token, tenant, issuer, client)
    if token_type == token_types.JWT:
        return _jwt(token, tenant, issuer, role)
    if token_type == token_types.SAML2:
        return _saml2(token, tenant, request)
    raise TokenRejected(f"Unsupported {role}_token_type.")


def _user_by_sub(tenant, sub) -> User | None:
    try:
        return User.objects.filter(tenant=tenant, sub=uuid.UUID(str(sub)), is_active=True).first()
    except (ValueError, TypeError, AttributeError):
        return None


def _access_token(token: str, tenant, issuer: str, token_type: str) -> Party:
    found = (
        AccessToken.objects.select_related("application", "user")
        .filter(tenant=tenant, token_checksum=checksum(token))
        .first()
    )
    if found is None or found.is_expired() or (found.user is not None and not found.user.is_active):
        raise TokenRejected("The access token is not active.")
    sub = str(found.user.sub) if found.user else (found.subject or found.application.client_id)
    return Party(
        token_type=token_type,
        sub=sub,
        issuer=issuer,
        user=found.user,
        scopes=frozenset(found.scope.split()),
        act=found.act or None,
        expires_at=found.expires.timestamp(),
        details={"client_id": found.application.client_id},
    )


def _refresh_token(token: str, tenant, issuer: str, client: Client) -> Party:
    found = (
        RefreshToken.objects.select_related("application", "user", "access_token")
        .filter(tenant=tenant, token_checksum=checksum(token), revoked__isnull=True)
        .first()
    )
    # RFC 6749 §6: a refresh token is bound to the client it was issued to.
    if found is None or found.application_id != client.pk:
        raise TokenRejected("The refresh token is not active for this client.")
    expires = found.created.timestamp() + found.application.refresh_token_lifetime
    if expires <= time.time() or found.user is None or not found.user.is_active:
        raise TokenRejected("The refresh token is not active for this client.")
    return Party(
        token_type=token_types.REFRESH_TOKEN,
        sub=str(found.user.sub),
        issuer=issuer,
        user=found.user,
        scopes=frozenset(found.access_token.scope.split() if found.access_token else []),
        expires_at=expires,
    )


def _audiences(claims: dict) -> list[str]:
    audience = claims.get("aud")
    return [audience] if isinstance(audience, str) else [a for a in audience or [] if isinstance(a, str)]


def _id_token(token: str, tenant, issuer: str, client: Client) -> Party:
    claims = signing.verify(tenant, token)
    if claims is None or claims.get("iss") != issuer:
        raise TokenRejected("The ID token is not valid here.")
    # OIDC Core §2: an ID token is meant for the client it names; only that client may exchange it.
    if client.client_id not in _audiences(claims):
        raise TokenRejected("The ID token was issued to another client.")
    user = _user_by_sub(tenant, claims.get("sub"))
    if user is None:
        raise TokenRejected("The ID token's subject is not an active user.")
    scopes = frozenset({"openid"})
    try:
        saved = IDToken.objects.filter(tenant=tenant, jti=uuid.UUID(str(claims.get("jti")))).first()
    except (ValueError, ValidationError):
        saved = None
    if saved is not None:
        scopes = frozenset(saved.scope.split()) & IDENTITY_SCOPES
    return Party(
        token_type=token_types.ID_TOKEN,
        sub=str(user.sub),
        issuer=issuer,
        user=user,
        scopes=frozenset(scopes),
        act=claims.get("act") if isinstance(claims.get("act"), dict) else None,
        expires_at=claims.get("exp"),
    )


def _unverified_claims(token: str) -> dict:
    try:
        parsed = jwt.JWT()
        parsed.deserialize(token)
        claims = json.loads(parsed.token.objects["payload"])
    except (JWException, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise TokenRejected("The token is not a JWT.") from None
    if not isinstance(claims, dict):
        raise TokenRejected("The token is not a JWT.")
    return claims


def _jwt(token: str, tenant, issuer: str, role: str) -> Party:
    claimed_issuer = _unverified_claims(token).get("iss")
    if claimed_issuer == issuer:
        return _local_jwt(token, tenant, issuer)
    trusted = (
        TrustedIssuer.objects.filter(tenant=tenant, issuer=claimed_issuer, active=True).first()
        if isinstance(claimed_issuer, str) and claimed_issuer
        else None
    )
    if trusted is None:
        raise TokenRejected("The JWT's issuer is not trusted by this organization.")
    return _external_jwt(token, tenant, issuer, trusted, role)


def _local_jwt(token: str, tenant, issuer: str) -> Party:
    """A JWT this tenant issued: an access token (looked up, so revocation counts) or a JWT from an
    earlier exchange (verified with the tenant's keys)."""
    try:
        return _access_token(token, tenant, issuer, token_types.JWT)
    except TokenRejected:
        pass
    claims = signing.verify(tenant, token)
    if claims is None or claims.get("iss") != issuer or not isinstance(claims.get("sub"), str):
        raise TokenRejected("The JWT is not valid here.")
    user = _user_by_sub(tenant, claims["sub"])
    if user is None and not Client.objects.filter(tenant=tenant, client_id=claims["sub"]).exists():
        raise TokenRejected("The JWT's subject is not an active user or client of this organization.")
    scope = claims.get("scope")
    return Party(
        token_type=token_types.JWT,
        sub=str(user.sub) if user else claims["sub"],
        issuer=issuer,
        user=user,
        scopes=frozenset(scope.split() if isinstance(scope, str) else []),
        act=claims.get("act") if isinstance(claims.get("act"), dict) else None,
        may_act=claims.get("may_act") if isinstance(claims.get("may_act"), dict) else None,
        expires_at=claims.get("exp"),
    )


def _verified_external_claims(token: str, trusted: TrustedIssuer, issuer: str) -> dict:
    keys = public_key_set(trusted.jwks, trusted.jwks_uri)
    if keys is None:
        raise TokenRejected("The trusted issuer's keys are not available.")
    try:
        verified = jwt.JWT(jwt=token, key=keys, algs=JWT_ALGS, check_claims=False)
        claims = json.loads(verified.claims)
    except (JWException, ValueError, TypeError, KeyError, jwk.InvalidJWKValue):
        raise TokenRejected("The JWT's signature does not verify with the issuer's keys.") from None
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, (int, float)) or exp <= now - CLOCK_SKEW:
        raise TokenRejected("The JWT has expired or has no exp.")
    if isinstance(nbf, (int, float)) and nbf > now + CLOCK_SKEW:
        raise TokenRejected("The JWT is not valid yet.")
    # Meant for us: the audience the trusted issuer was registered with, else this tenant's issuer.
    expected = {trusted.audience} if trusted.audience else {issuer, f"{issuer}/oauth/token"}
    if not expected & set(_audiences(claims)):
        raise TokenRejected("The JWT is not meant for this organization (aud).")
    if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
        raise TokenRejected("The JWT has no subject.")
    return claims


def _external_scopes(claims: dict, trusted: TrustedIssuer, tenant) -> frozenset[str]:
    scope = claims.get("scope", claims.get("scp"))
    carried = set(scope.split()) if isinstance(scope, str) else {s for s in scope or [] if isinstance(s, str)}
    ceiling = (
        set(trusted.allowed_scopes.split())
        if trusted.allowed_scopes.strip()
        else set(scope_catalogue.catalogue(tenant))
    )
    return frozenset(carried & ceiling)


def _external_jwt(token: str, tenant, issuer: str, trusted: TrustedIssuer, role: str) -> Party:
    claims = _verified_external_claims(token, trusted, issuer)
    details = {"trusted_issuer": trusted.name or trusted.issuer, "external_sub": claims["sub"]}
    if role == "actor":  # an external workload or agent acting: named by its own sub and iss
        return Party(
            token_type=token_types.JWT,
            sub=claims["sub"],
            issuer=trusted.issuer,
            expires_at=claims["exp"],
            external=True,
            details=details,
        )
    user = _matching_user(claims, trusted, tenant)
    return Party(
        token_type=token_types.JWT,
        sub=str(user.sub),
        issuer=trusted.issuer,
        user=user,
        scopes=_external_scopes(claims, trusted, tenant),
        act=claims.get("act") if isinstance(claims.get("act"), dict) else None,
        may_act=claims.get("may_act") if isinstance(claims.get("may_act"), dict) else None,
        expires_at=claims["exp"],
        external=True,
        details=details,
    )


def _matching_user(claims: dict, trusted: TrustedIssuer, tenant) -> User:
    users = User.objects.filter(tenant=tenant, is_active=True)
    if trusted.subject_match == SubjectMatch.EMAIL and isinstance(claims.get("email"), str) and claims["email"]:
        found = list(users.filter(email__iexact=claims["email"])[:2])
    elif trusted.subject_match == SubjectMatch.USERNAME:
        name = claims.get("preferred_username") or claims["sub"]
        found = list(users.filter(username__iexact=name)[:2]) if isinstance(name, str) else []
    else:
        raise TokenRejected("Tokens of this issuer can only be actor tokens.")
    if len(found) != 1:
        raise TokenRejected("The JWT's subject is not a user of this organization.")
    return found[0]


def _saml2(token: str, tenant, request) -> Party:
    try:
        assertion = saml_assertions.verify(tenant, token, request=request)
    except saml_assertions.AssertionRejected as exc:
        raise TokenRejected(str(exc)) from None
    link = (
        FederatedIdentity.objects.select_related("user")
        .filter(tenant=tenant, connection=assertion.connection.connection_key, subject=assertion.subject)
        .first()
    )
    if link is None or not link.user.is_active:
        raise TokenRejected("The assertion's subject is not linked to an active user here.")
    return Party(
        token_type=token_types.SAML2,
        sub=str(link.user.sub),
        issuer=assertion.connection.entity_id,
        user=link.user,
        scopes=IDENTITY_SCOPES,
        expires_at=assertion.not_on_or_after,
        external=True,
        details={"connection": assertion.connection.slug, "name_id": assertion.subject, "assertion_id": assertion.id},
    )
