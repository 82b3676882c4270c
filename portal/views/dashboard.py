from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from lumoauth.events.api import AuditEvent
from tenants.services.sessions import active_sessions

from ..access import tenant_admin_required


@require_GET
@tenant_admin_required
def dashboard(request):
    tenant = request.tenant
    since = timezone.now() - timedelta(days=7)
    events = AuditEvent.objects.filter(tenant=tenant)
    days = []
    for offset in range(6, -1, -1):
        day = (timezone.now() - timedelta(days=offset)).date()
        of_day = events.filter(occurred_at__date=day)
        days.append(
            {
                "day": day,
                "ok": of_day.filter(action="login.succeeded").count(),
                "failed": of_day.filter(action="login.failed").count(),
            }
        )
    peak = max([d["ok"] + d["failed"] for d in days] + [1])
    for d in days:
        d["ok_pct"], d["failed_pct"] = 100 * d["ok"] // peak, 100 * d["failed"] // peak
    context = {
        "users": tenant.users.count(),
        "active_users": tenant.users.filter(is_active=True).count(),
        "groups": tenant.groups.count(),
        "clients": tenant.oauth_clients.count(),
        "active_sessions": active_sessions(tenant).count(),
        "sign_ins": events.filter(action="login.succeeded", occurred_at__gte=since).count(),
        "failures": events.filter(action="login.failed", occurred_at__gte=since).count(),
        "days": days,
        "recent": events.order_by("-id")[:10],
    }
    context["section"] = "dashboard"
    return render(request, "portal/dashboard.html", context)
