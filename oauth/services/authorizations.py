"""What a user has handed to clients: their live tokens per client, and taking them back."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from lumoauth.events.api import Ref, record, user_ref

from ..models import AccessToken, Client, Grant, RefreshToken
from ..tokens.refresh import usable_at


@dataclass(frozen=True)
class ClientAuthorization:
    """A client holding live tokens for a user."""

    client: Client
    refresh_tokens: int
    access_tokens: int
    last_issued: datetime


def user_authorizations(user) -> list[ClientAuthorization]:
    """Per client, the user's usable refresh tokens and unexpired access tokens (two grouped queries)."""
    scope = {"tenant_id": user.tenant_id, "user": user}
    refresh = (
        RefreshToken.objects.filter(usable_at(timezone.now()), **scope)
        .values("application")
        .annotate(n=Count("id"), last=Max("created"))
    )
    access = (
        AccessToken.objects.filter(expires__gt=timezone.now(), **scope)
        .values("application")
        .annotate(n=Count("id"), last=Max("created"))
    )
    counts: dict[int, dict] = {}
    for kind, rows in (("refresh", refresh), ("access", access)):
        for row in rows:
            entry = counts.setdefault(row["application"], {"refresh": 0, "access": 0, "last": row["last"]})
            entry[kind] = row["n"]
            entry["last"] = max(entry["last"], row["last"])
    clients = Client.objects.in_bulk(list(counts))
    found = [
        ClientAuthorization(clients[pk], c["refresh"], c["access"], c["last"])
        for pk, c in counts.items()
        if pk in clients
    ]
    return sorted(found, key=lambda a: a.last_issued, reverse=True)


@transaction.atomic
def revoke_user_tokens(user, client: Client, *, actor: Ref | None = None, request=None, reason: str = "revoked") -> int:
    """Revoke everything `client` holds for `user`: refresh tokens (whole rotation families), access
    tokens and authorization codes not yet redeemed. In the spirit of RFC 7009 §2.1 (revoking a grant
    invalidates the tokens based on it). Returns how many tokens and codes were revoked.

    A JWT access token already handed out stays verifiable offline until it expires; introspection
    and userinfo refuse it from now on (its row is gone)."""
    scope = {"tenant_id": client.tenant_id, "user": user, "application": client}
    live_refresh = RefreshToken.objects.filter(revoked__isnull=True, **scope)
    families = set(live_refresh.values_list("token_family", flat=True)) - {None}
    refresh = live_refresh.count()
    access = AccessToken.objects.filter(**scope).count()
    for family in families:
        RefreshToken.revoke_family(family)  # revokes the family and deletes its access tokens
    live_refresh.update(revoked=timezone.now())  # any without a family
    AccessToken.objects.filter(**scope).delete()
    codes = Grant.objects.filter(used_at__isnull=True, **scope).delete()[0]
    total = refresh + access + codes
    if total:
        record(
            "oauth.token.revoked",
            tenant=client.tenant,
            actor=actor,
            request=request,
            target=user_ref(user),
            details={
                "client_id": client.client_id,
                "refresh_tokens": refresh,
                "access_tokens": access,
                "codes": codes,
                "reason": reason,
            },
        )
    return total
