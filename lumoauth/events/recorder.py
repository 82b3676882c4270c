"""record(): the one way anything writes to the audit log."""

import ipaddress
from typing import Any

from django.conf import settings

from lumoauth.observability.metrics import observe_event
from lumoauth.webhooks.outbox import publish_audit_event

from .actors import SYSTEM, Ref, actor_from_request
from .models import AuditEvent, Outcome


def client_ip(request: Any) -> str | None:
    """The client's address; X-Forwarded-For is read only behind the configured number of proxies."""
    if request is None:
        return None
    hops = settings.LUMOAUTH_TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return _valid_ip(forwarded[-hops])
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def record(
    action: str,
    *,
    tenant: Any = None,
    actor: Ref | None = None,
    target: Ref | None = None,
    request: Any = None,
    outcome: str = Outcome.SUCCESS,
    details: dict | None = None,
) -> AuditEvent:
    """Append an audit event. Call it inside the transaction of the change it describes, so the
    change and its record commit or roll back together.

    Without an explicit actor, the request's signed-in user is the actor (or "anonymous"); without
    a request either, the system is.
    """
    if actor is None:
        actor = actor_from_request(request) if request is not None else SYSTEM
    if tenant is None and request is not None:
        tenant = getattr(request, "tenant", None)
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:512] if request is not None else ""
    observe_event(action, outcome, tenant, details)  # tokens issued, sign-ins (Prometheus counters)
    event = AuditEvent.objects.create(
        tenant=tenant,
        action=action,
        outcome=outcome,
        actor_type=actor.type,
        actor_id=actor.id[:64],
        actor_label=actor.label[:255],
        target_type=target.type if target else "",
        target_id=target.id[:64] if target else "",
        target_label=target.label[:255] if target else "",
        ip_address=client_ip(request),
        user_agent=user_agent,
        details=details or {},
    )
    publish_audit_event(event)  # webhook outbox rows, in the same transaction (lumoauth/webhooks/outbox.py)
    return event
