"""OpenID Connect claims of a directory user, released per scope (OIDC Core §5.4)."""

from typing import Any

SCOPE_CLAIMS = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
}
SUPPORTED_CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash"] + [
    claim for claims in SCOPE_CLAIMS.values() for claim in claims
]


def _value(user, claim: str) -> Any:
    if claim == "preferred_username":
        return user.preferred_username or user.username
    if claim == "name":
        return user.name or user.get_full_name()
    if claim == "updated_at":
        return int(user.updated_at.timestamp())
    return getattr(user, claim)


def user_claims(user, scopes) -> dict[str, Any]:
    """`sub` always; then each claim of each granted scope that has a value."""
    claims: dict[str, Any] = {"sub": str(user.sub)}
    for scope in scopes:
        for claim in SCOPE_CLAIMS.get(scope, ()):
            value = _value(user, claim)
            if value in ("", None, {}, []):
                continue
            if claim == "email_verified" and not user.email:
                continue
            if claim == "phone_number_verified" and not user.phone_number:
                continue
            claims[claim] = value
    return claims
