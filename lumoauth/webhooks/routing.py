"""Which of a tenant's subscriptions are active and what they want, memoised per process.

Every audited change asks; most tenants have no subscription, so the answer (an empty tuple) is kept
in memory and the token endpoint pays no query for webhooks nobody subscribed to. The process that
changes a subscription forgets at once; other processes within ROUTES_MEMO_SECONDS (a new subscription
starts receiving events within that delay).
"""

from dataclasses import dataclass

from lumoauth.memo import TTLMemo

from .catalogue import matches
from .models import WebhookSubscription

ROUTES_MEMO_SECONDS = 10
_routes = TTLMemo(ROUTES_MEMO_SECONDS)


@dataclass(frozen=True)
class Route:
    subscription_id: int
    event_types: tuple[str, ...]
    notification_channel: bool


def active_routes(tenant_id: int) -> tuple[Route, ...]:
    def load() -> tuple[Route, ...]:
        rows = WebhookSubscription.objects.filter(tenant_id=tenant_id, active=True).order_by("pk")
        return tuple(
            Route(pk, tuple(types or ()), channel)
            for pk, types, channel in rows.values_list("pk", "event_types", "notification_channel")
        )

    return _routes.get(tenant_id, load)


def subscribers(tenant_id: int, event_type: str) -> list[int]:
    """Ids of the tenant's active subscriptions that want `event_type`."""
    return [route.subscription_id for route in active_routes(tenant_id) if matches(route.event_types, event_type)]


def notification_routes(tenant_id: int) -> list[int]:
    return [route.subscription_id for route in active_routes(tenant_id) if route.notification_channel]


def forget_routes(tenant_id: int) -> None:
    """Call inside the transaction that changes one of the tenant's subscriptions."""
    _routes.forget_changed(tenant_id)
