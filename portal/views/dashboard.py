"""The portal's first page: counts, sign-ins of the last 7 days, health, recent events."""

from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from lumoauth.events.api import AuditEvent
from lumoauth.webhooks.health import webhook_health
from tenants.services.sessions import active_sessions
from tenants.signing_keys.api import key_health

from ..access import tenant_admin_required

SIGN_IN_ACTIONS = ("login.succeeded", "login.failed")


def sign_in_days(tenant, today, days: int = 7) -> list[dict]:
    """Sign-ins and failures per UTC day, oldest first, in one grouped query (audit_tenant_action index)."""
    first = today - timedelta(days=days - 1)
    counts = {
        (row["day"], row["action"]): row["n"]
        for row in AuditEvent.objects.filter(tenant=tenant, action__in=SIGN_IN_ACTIONS, occurred_at__date__gte=first)
        .annotate(day=TruncDate("occurred_at"))
        .values("day", "action")
        .annotate(n=Count("id"))
    }
    series = [
        {"day": day, "ok": counts.get((day, "login.succeeded"), 0), "failed": counts.get((day, "login.failed"), 0)}
        for day in (first + timedelta(days=n) for n in range(days))
    ]
    peak = max([d["ok"] + d["failed"] for d in series] + [1])
    for d in series:
        d["ok_pct"], d["failed_pct"] = 100 * d["ok"] // peak, 100 * d["failed"] // peak
    return series


@require_GET
@tenant_admin_required
def dashboard(request):
    tenant = request.tenant
    days = sign_in_days(tenant, timezone.now().date())
    context = {
        "users": tenant.users.count(),
        "active_users": tenant.users.filter(is_active=True).count(),
        "groups": tenant.groups.count(),
        "clients": tenant.oauth_clients.count(),
        "active_sessions": active_sessions(tenant).count(),
        "sign_ins": sum(d["ok"] for d in days),
        "failures": sum(d["failed"] for d in days),
        "days": days,
        "keys": key_health(tenant),
        "webhooks": webhook_health(tenant),
        "recent": AuditEvent.objects.filter(tenant=tenant).order_by("-id")[:10],
        "section": "dashboard",
    }
    return render(request, "portal/dashboard.html", context)
