"""The tenant's audit log: filters, full-text search, keyset pages (no OFFSET) and streamed exports.

The queries live in lumoauth/events (search.py, export.py); this module only reads the form.
"""

import json
from datetime import UTC
from urllib.parse import urlencode

from django import forms
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from lumoauth.errors import error_response
from lumoauth.events.api import (
    EXPORT_FORMATS,
    AuditQuery,
    Outcome,
    export_lines,
    filtered_events,
    page_of,
    parse_cursor,
    record_export,
    user_ref,
)

from ..access import tenant_admin_required

DATETIME_LOCAL = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


class UTCDateTimeField(forms.DateTimeField):
    """A datetime-local input read as UTC (whatever the browser's or the server's zone)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format=DATETIME_LOCAL[1])

    def __init__(self, **kwargs):
        super().__init__(input_formats=DATETIME_LOCAL, required=False, **kwargs)

    def to_python(self, value):
        with timezone.override(UTC):
            return super().to_python(value)


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=80, label="Action starts with")
    actor = forms.CharField(required=False, max_length=255, label="Actor")
    outcome = forms.ChoiceField(
        required=False,
        choices=[("", "Any outcome"), *Outcome.choices],
        label="Outcome",
        widget=forms.Select(attrs={"aria-label": "Outcome"}),
    )
    target_type = forms.CharField(required=False, max_length=32, label="Target type")
    target = forms.CharField(required=False, max_length=255, label="Target")
    q = forms.CharField(required=False, max_length=200, label="Search details")
    from_ = UTCDateTimeField(label="From (UTC)")
    to = UTCDateTimeField(label="To (UTC, exclusive)")

    def add_prefix(self, field_name):
        return field_name.rstrip("_")  # `from` is a Python keyword, but the nicest parameter name

    def clean(self):
        data = super().clean()
        if data.get("from_") and data.get("to") and data["from_"] >= data["to"]:
            self.add_error("to", "Must be later than From.")
        return data

    def query(self) -> AuditQuery:
        data = self.cleaned_data
        return AuditQuery(
            action=data["action"],
            actor=data["actor"],
            outcome=data["outcome"],
            target_type=data["target_type"],
            target=data["target"],
            text=data["q"],
            since=data["from_"],
            until=data["to"],
        )

    def params(self) -> dict:
        """The filters as typed, for links that keep them (Newer, Older, Export)."""
        return {self.add_prefix(name): value for name in self.fields if (value := self.data.get(self.add_prefix(name)))}


def _render(request, form, page=None):
    params = form.params()
    for event in page.events if page else []:
        event.details_json = (
            json.dumps(event.details, indent=2, sort_keys=True, ensure_ascii=False) if event.details else ""
        )
    context = {
        "form": form,
        "filters": params,
        "section": "audit",
        "events": page.events if page else [],
        "next_before": page.older if page else None,  # the "Older" cursor
        "older_query": urlencode({**params, "before": page.older}) if page and page.older else "",
        "newer_query": urlencode({**params, "after": page.newer}) if page and page.newer else "",
        "export_query": urlencode(params),
    }
    return render(request, "portal/audit.html", context, status=200 if page else 400)


@require_GET
@tenant_admin_required
def audit_log(request):
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _render(request, form)
    page = page_of(
        filtered_events(request.tenant, form.query()),
        before=parse_cursor(request.GET.get("before", "")),
        after=parse_cursor(request.GET.get("after", "")),
    )
    return _render(request, form, page)


@require_GET
@tenant_admin_required
def audit_export(request, fmt):
    if fmt not in EXPORT_FORMATS:
        return error_response(request, 404)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _render(request, form)
    query = form.query()
    exported = record_export(request.tenant, query, fmt, actor=user_ref(request.user), request=request)
    # Streamed in keyset chunks: the export never holds the whole set in memory, and it covers
    # everything before its own audit record.
    response = StreamingHttpResponse(
        export_lines(filtered_events(request.tenant, query), fmt, before=exported.id), content_type=EXPORT_FORMATS[fmt]
    )
    stamp = exported.occurred_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{request.tenant.slug}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
