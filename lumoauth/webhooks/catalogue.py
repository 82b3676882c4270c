"""The event catalogue (docs/events.md): which audit actions are published, under which event type,
and which subscriptions want which types.

Every change is audited through `lumoauth.events.api.record`; the one table below turns an audit
action into the event type subscribers see. Actions not in it (reads, protocol failures, sign-outs of
SAML service providers...) are not published.
"""

import re

# audit action -> webhook event type
AUDIT_ACTION_EVENTS: dict[str, str] = {
    # User lifecycle
    "user.created": "user.created",
    "user.updated": "user.updated",
    "user.password_changed": "user.password_changed",
    "user.deactivated": "user.deactivated",
    "user.activated": "user.activated",
    "user.deleted": "user.deleted",
    "group.created": "group.created",
    "group.updated": "group.updated",
    "group.deleted": "group.deleted",
    "membership.added": "membership.added",
    "membership.removed": "membership.removed",
    "identity.linked": "identity.linked",
    "identity.unlinked": "identity.unlinked",
    # Authentication
    "login.succeeded": "login.succeeded",
    "login.failed": "login.failed",
    "logout": "logout",
    "session.revoked": "session.revoked",
    # OAuth
    "oauth.token.issued": "token.issued",  # opt-in: see OPT_IN
    "oauth.token.revoked": "token.revoked",
    "oauth.code.replayed": "token.code_replayed",
    "consent.granted": "consent.granted",
    "consent.revoked": "consent.revoked",
    "oauth.token.exchanged": "token.exchanged",  # opt-in, like token.issued
    "oauth.device.approved": "device.approved",
    "oauth.device.denied": "device.denied",
    "oauth.ciba.approved": "ciba.approved",
    "oauth.ciba.denied": "ciba.denied",
    # Provisioning (SCIM changes to users and groups are also published as scim.<type>, see below)
    "scim_token.created": "scim.token.created",
    "scim_token.revoked": "scim.token.revoked",
    # Admin changes
    "tenant.updated": "tenant.updated",
    "client.created": "client.created",
    "client.updated": "client.updated",
    "client.secret_rotated": "client.secret_rotated",
    "client.deleted": "client.deleted",
    "scope.created": "scope.created",
    "scope.updated": "scope.updated",
    "initial_access_token.created": "initial_access_token.created",
    "initial_access_token.revoked": "initial_access_token.revoked",
    "signing_key.created": "signing_key.created",
    "signing_key.rotated": "signing_key.rotated",
    "saml.sp.created": "saml.sp.created",
    "saml.sp.updated": "saml.sp.updated",
    "saml.sp.deleted": "saml.sp.deleted",
    "saml.idp_connection.created": "saml.idp_connection.created",
    "saml.idp_connection.updated": "saml.idp_connection.updated",
    "saml.idp_connection.deleted": "saml.idp_connection.deleted",
    "oidc.connection.created": "oidc.connection.created",
    "oidc.connection.updated": "oidc.connection.updated",
    "oidc.connection.deleted": "oidc.connection.deleted",
    "domain.claimed": "domain.claimed",
    "domain.verified": "domain.verified",
    "domain.claim_deleted": "domain.claim_deleted",
    "trusted_issuer.created": "trusted_issuer.created",
    "trusted_issuer.updated": "trusted_issuer.updated",
    "trusted_issuer.deleted": "trusted_issuer.deleted",
    "webhook.created": "webhook.created",
    "webhook.updated": "webhook.updated",
    "webhook.deleted": "webhook.deleted",
    "webhook.redelivered": "webhook.redelivered",
    "audit.exported": "audit.exported",
}

# Directory changes made through SCIM (the actor is a SCIM token) are published twice: as the
# directory event (user.created) and as the provisioning event (scim.user.created).
SCIM_ACTOR_TYPE = "scim_token"
SCIM_MIRRORED_PREFIXES = ("user.", "group.", "membership.")

# Published only to subscriptions that name them exactly: never through "*" or "token.*" (a token
# endpoint's volume would drown everything else).
OPT_IN = frozenset({"token.issued", "token.exchanged"})

EVENT_TYPES: tuple[str, ...] = tuple(
    sorted(
        set(AUDIT_ACTION_EVENTS.values())
        | {f"scim.{t}" for t in AUDIT_ACTION_EVENTS.values() if t.startswith(SCIM_MIRRORED_PREFIXES)}
    )
)
# Families a subscription may name as "<prefix>.*": every dotted prefix of a catalogue type.
FAMILIES: tuple[str, ...] = tuple(
    sorted({".".join(t.split(".")[:i]) for t in EVENT_TYPES for i in range(1, t.count(".") + 1)})
)
# How the catalogue is presented (portal, docs/events.md): categories of top-level families.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Users and groups", ("user", "group", "membership", "identity")),
    ("Sign-in", ("login", "logout", "session")),
    ("OAuth", ("token", "consent", "device", "ciba")),
    ("Provisioning (SCIM)", ("scim",)),
    (
        "Admin changes",
        (
            "tenant",
            "client",
            "scope",
            "initial_access_token",
            "signing_key",
            "saml",
            "oidc",
            "domain",
            "trusted_issuer",
            "webhook",
            "audit",
        ),
    ),
)
ALL = "*"
MAX_PATTERNS = 100
_PATTERN = re.compile(r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$")


def event_types_for(action: str, actor_type: str = "") -> list[str]:
    """The event types an audit event is published as (empty: not published)."""
    event_type = AUDIT_ACTION_EVENTS.get(action)
    if event_type is None:
        return []
    if actor_type == SCIM_ACTOR_TYPE and event_type.startswith(SCIM_MIRRORED_PREFIXES):
        return [event_type, f"scim.{event_type}"]
    return [event_type]


def matches(patterns, event_type: str) -> bool:
    """Does a subscription naming `patterns` want `event_type`?"""
    for pattern in patterns:
        if pattern == event_type:
            return True
        if event_type in OPT_IN:
            continue
        if pattern == ALL or (pattern.endswith(".*") and event_type.startswith(pattern[:-1])):
            return True
    return False


def pattern_errors(patterns) -> list[str]:
    """What is wrong with a subscription's list of event types (empty: nothing)."""
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        return ["Event types are a list of names."]
    if not patterns:
        return ["Choose at least one event type."]
    if len(patterns) > MAX_PATTERNS:
        return [f"At most {MAX_PATTERNS} event types."]
    errors = []
    for pattern in patterns:
        known = pattern == ALL or pattern in EVENT_TYPES or (pattern.endswith(".*") and pattern[:-2] in FAMILIES)
        if not (len(pattern) <= 100 and _PATTERN.match(pattern) and known):
            shown = pattern[:100].encode("unicode_escape").decode()
            errors.append(
                f"{shown!r} is not an event type of the catalogue (docs/events.md), a family like user.* or *."
            )
    return errors


def normalize_patterns(patterns: list[str]) -> list[str]:
    """Without repeats, in the order given."""
    return list(dict.fromkeys(patterns))
