"""What a token exchange may produce (RFC 8693 §2), decided without HTTP.

The client's policy says whether it may exchange at all (no: unauthorized_client), only with an
actor token (delegation) or also without (impersonation). The new token's subject is the subject
token's; its `act` claim names the actor, with the subject token's own `act` nested inside it, so a
chain of agents stays visible (§4.1: {"sub": actor, "act": {"sub": previous actor, ...}}). Its
scope is never more than the subject token's (down-scoping), its audiences only those the client
may ask for (invalid_target otherwise), and it expires no later than the tokens it came from.
"""

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from oauthlib.oauth2.rfc6749 import errors

from .. import scopes as scope_catalogue
from ..models import Client, TokenExchangePolicy
from . import token_types
from .parties import Party, TokenRejected, resolve

MAX_CHAIN = 10  # nested act claims; a longer chain is refused rather than grown without bound


class InvalidTarget(errors.OAuth2Error):
    """RFC 8693 §2.2.2: unwilling or unable to issue a token for the requested audience or resource."""

    error = "invalid_target"
    status_code = 400


@dataclass
class ExchangeRequest:
    subject_token: str | None
    subject_token_type: str | None
    actor_token: str | None = None
    actor_token_type: str | None = None
    requested_token_type: str | None = None
    scope: str | None = None
    audiences: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)


@dataclass
class Decision:
    subject: Party
    actor: Party | None
    act: dict | None
    scopes: list[str]
    audiences: list[str]
    requested_token_type: str
    max_expires_in: int | None

    @property
    def mode(self) -> str:
        return "delegation" if self.actor else "impersonation"

    def chain(self) -> list[str]:
        """The actors, most recent first, as the nested act claim lists them."""
        names, act = [], self.act
        while isinstance(act, dict) and len(names) <= MAX_CHAIN:
            names.append(act.get("sub"))
            act = act.get("act")
        return names


def _depth(act) -> int:
    depth = 0
    while isinstance(act, dict):
        depth, act = depth + 1, act.get("act")
        if depth > MAX_CHAIN:
            break
    return depth


def _token(params: ExchangeRequest, role: str, kinds: set[str], **context) -> Party | None:
    token, kind = getattr(params, f"{role}_token"), getattr(params, f"{role}_token_type")
    if role == "actor" and not token:
        if kind:  # §2.1: actor_token_type MUST NOT be included without an actor_token
            raise errors.InvalidRequestError(description="actor_token_type without actor_token.")
        return None
    if not token or not kind:
        raise errors.InvalidRequestError(description=f"{role}_token and {role}_token_type are required.")
    kind = token_types.canonical(kind)
    if kind not in kinds:
        raise errors.InvalidRequestError(description=f"Unsupported {role}_token_type.")
    try:
        return resolve(token, kind, role=role, **context)
    except TokenRejected as exc:  # §2.2.2: an invalid subject or actor token is invalid_request
        raise errors.InvalidRequestError(description=str(exc)) from None


def _audiences(client: Client, params: ExchangeRequest) -> list[str]:
    for resource in params.resources:
        parts = urlsplit(resource)
        if not parts.scheme or not parts.netloc or parts.fragment or "#" in resource:  # RFC 8707 §2
            raise InvalidTarget(description="resource must be an absolute URI without a fragment.")
    wanted = list(dict.fromkeys(params.audiences + params.resources))
    allowed = set(client.token_exchange_audiences.split())
    refused = [value for value in wanted if value not in allowed]
    if refused:
        raise InvalidTarget(description=f"This client may not obtain tokens for {refused[0][:200]}.")
    return wanted


def _may_act_allows(subject: Party, actor: Party) -> bool:
    """RFC 8693 §4.4: when the subject token names who may act for it, the actor must be that party."""
    may_act = subject.may_act
    if not may_act:
        return True
    if may_act.get("sub") != actor.sub:
        return False
    return "iss" not in may_act or may_act["iss"] == actor.issuer


def decide(tenant, issuer: str, client: Client, params: ExchangeRequest, *, request=None) -> Decision:
    if client.token_exchange_policy not in (TokenExchangePolicy.DELEGATION, TokenExchangePolicy.IMPERSONATION):
        raise errors.UnauthorizedClientError(description="This client may not exchange tokens.")
    requested = params.requested_token_type or token_types.ACCESS_TOKEN
    if requested not in token_types.REQUESTED_TOKEN_TYPES:
        raise errors.InvalidRequestError(description="Unsupported requested_token_type.")
    context = {"tenant": tenant, "issuer": issuer, "client": client, "request": request}
    subject = _token(params, "subject", token_types.SUBJECT_TOKEN_TYPES, **context)
    actor = _token(params, "actor", token_types.ACTOR_TOKEN_TYPES, **context)
    if actor is None and client.token_exchange_policy != TokenExchangePolicy.IMPERSONATION:
        raise errors.InvalidRequestError(
            description="This client may only act on behalf of a subject: send an actor_token (delegation)."
        )
    if actor is not None and not _may_act_allows(subject, actor):
        raise errors.InvalidRequestError(description="The subject token does not allow this actor (may_act).")

    if actor is not None:
        act = actor.actor_claim()
        if subject.act:
            act["act"] = subject.act  # §4.1: the earlier actors, nested inside the current one
    else:
        act = dict(subject.act) if subject.act else None  # impersonation hides no earlier delegation
    if _depth(act) > MAX_CHAIN:
        raise errors.InvalidRequestError(description="The delegation chain is too long.")

    audiences = _audiences(client, params)
    # Down-scoping: never more than the subject token had, nor than this client may ask for.
    available = set(subject.scopes) & set(scope_catalogue.allowed_for(client))
    if params.scope is not None:
        scopes = list(dict.fromkeys(params.scope.split()))
        if not set(scopes) <= available:
            raise errors.InvalidScopeError(description="The requested scope exceeds the subject token's.")
    else:
        scopes = sorted(available)
    if requested == token_types.ID_TOKEN and subject.user is None:
        raise errors.InvalidRequestError(description="An ID token can only be issued for a user.")

    now = time.time()
    ends = [party.expires_at for party in (subject, actor) if party is not None and party.expires_at]
    max_expires_in = max(1, int(min(ends) - now)) if ends else None
    return Decision(subject, actor, act, scopes, audiences, requested, max_expires_in)
