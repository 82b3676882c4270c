"""What the retention job (lumoauth/retention/api.py) deletes of the sign-in sessions.

An ended sign-in (signed out, revoked, user deactivated...) LUMOAUTH_RETENTION_SESSION_DAYS after it
ended: an ended row signs no one in. A sign-in never ended but not seen for SESSION_COOKIE_AGE plus
those days: its browser session has expired by then (tenants/services/sessions.py counts it inactive
after SESSION_COOKIE_AGE already). Open sign-ins seen more recently stay, in every tenant.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from lumoauth.retention.api import delete_in_batches, purger

from .models import SignInSession


@purger(order=20)
def signin_sessions(now: datetime, *, dry_run: bool = False) -> Counter:
    keep = timedelta(days=settings.LUMOAUTH_RETENTION_SESSION_DAYS)
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE) + keep
    over = SignInSession.objects.filter(
        Q(ended_at__lt=now - keep) | Q(ended_at__isnull=True, last_seen_at__lt=now - idle)
    )
    return delete_in_batches(over, dry_run=dry_run)
