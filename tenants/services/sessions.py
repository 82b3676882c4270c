"""Sign-in sessions: started and closed by tenants.signin, listed and ended (audited) by administrators.

A sign-in counts as active until it is ended or has not been seen for SESSION_COOKIE_AGE (the
browser's session has expired by then; nothing else tells us the browser went away).
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lumoauth.events.api import Ref, client_ip, record, user_ref

from ..models import SignInSession, Tenant, User

# last_seen_at is written at most this often, so a signed-in page view is one read, not a write.
TOUCH_INTERVAL = timedelta(minutes=1)


def _open() -> QuerySet:
    since = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return SignInSession.objects.filter(ended_at__isnull=True, last_seen_at__gte=since)


def active_sessions(tenant: Tenant) -> QuerySet:
    """The tenant's sign-in sessions that have not ended or expired, most recently seen first."""
    return _open().filter(tenant=tenant)


def user_sessions(user: User) -> QuerySet:
    """The user's active sign-in sessions, most recently seen first."""
    return _open().filter(tenant_id=user.tenant_id, user=user)


def start_session(tenant: Tenant, user: User, *, amr: list[str], request=None) -> SignInSession:
    """A new sign-in (its audit event, login.succeeded, is the caller's)."""
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:512] if request is not None else ""
    return SignInSession.objects.create(
        tenant=tenant,
        user=user,
        key=secrets.token_urlsafe(32),
        ip=client_ip(request),
        user_agent=user_agent,
        amr=list(amr),
    )


def find_session(tenant: Tenant, user_id, key: str | None) -> SignInSession | None:
    """The open session with this key, with its active user: one query on the unique key. A sign-in
    not seen for SESSION_COOKIE_AGE has expired, even if the browser's session lives on through
    another tenant."""
    if not key or not user_id:
        return None
    return _open().select_related("user").filter(key=key, tenant=tenant, user_id=user_id, user__is_active=True).first()


def touch(session: SignInSession) -> None:
    now = timezone.now()
    if now - session.last_seen_at >= TOUCH_INTERVAL:
        SignInSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(last_seen_at=now)
        session.last_seen_at = now


def close_session(key: str | None) -> None:
    """The browser signed out (or signed in again over this session); its audit event is the caller's."""
    if key:
        SignInSession.objects.filter(key=key, ended_at__isnull=True).update(ended_at=timezone.now())


@transaction.atomic
def end_session(session: SignInSession, *, actor: Ref | None = None, request=None) -> bool:
    """An administrator signs one browser out; it is signed out on its next request. False if it had ended."""
    ended = SignInSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(ended_at=timezone.now())
    if ended:
        record(
            "session.revoked",
            tenant=session.tenant,
            actor=actor,
            request=request,
            target=user_ref(session.user),
            details={"sessions": 1, "session": session.pk, "reason": "revoked"},
        )
    return bool(ended)


@transaction.atomic
def end_user_sessions(
    user: User, *, actor: Ref | None = None, request=None, reason: str = "revoked", keep_key: str | None = None
) -> int:
    """End every session of `user` (but the one with `keep_key`): "sign out everywhere", and what
    deactivation, a password reset and deletion do. Returns how many were ended."""
    sessions = SignInSession.objects.filter(user=user, ended_at__isnull=True)
    if keep_key:
        sessions = sessions.exclude(key=keep_key)
    ended = sessions.update(ended_at=timezone.now())
    if ended:
        record(
            "session.revoked",
            tenant=user.tenant,
            actor=actor,
            request=request,
            target=user_ref(user),
            details={"sessions": ended, "reason": reason},
        )
    return ended
