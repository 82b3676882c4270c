"""Which refresh tokens can still be used, as a query: not revoked, and within their client's
refresh_token_lifetime (lifetimes are per client, so one condition per distinct lifetime - few
differ). The token endpoint checks the same for one token (server/validator.py)."""

from datetime import datetime, timedelta

from django.db.models import Q

from ..models import Client


def usable_at(moment: datetime) -> Q:
    """Refresh tokens usable at `moment`. A lifetime set after this query was built (a new client,
    an admin's change) is not among the conditions: its tokens count as usable."""
    lifetimes = list(Client.objects.order_by().values_list("refresh_token_lifetime", flat=True).distinct())
    within = ~Q(application__refresh_token_lifetime__in=lifetimes)
    for seconds in lifetimes:
        within |= Q(application__refresh_token_lifetime=seconds, created__gt=moment - timedelta(seconds=seconds))
    return (Q(revoked__isnull=True) | Q(revoked__gt=moment)) & within
