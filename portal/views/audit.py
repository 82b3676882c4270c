"""The tenant's audit log: filters and keyset pagination (fast at any depth: no OFFSET)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from lumoauth.events.api import AuditEvent

from ..access import tenant_admin_required

PAGE_SIZE = 50


@require_GET
@tenant_admin_required
def audit_log(request):
    events = AuditEvent.objects.filter(tenant=request.tenant)
    filters = {k: request.GET.get(k, "").strip()[:100] for k in ("action", "outcome", "actor")}
    if filters["action"]:
        events = events.filter(action__startswith=filters["action"])
    if filters["outcome"]:
        events = events.filter(outcome=filters["outcome"])
    if filters["actor"]:
        events = events.filter(actor_label__icontains=filters["actor"])
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(id__lt=int(before))
    page = list(events.order_by("-id")[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return render(
        request,
        "portal/audit.html",
        {"events": page, "filters": filters, "section": "audit", "next_before": page[-1].id if more and page else None},
    )
