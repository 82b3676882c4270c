"""Webhook subscriptions of the tenant: list, create (the secret shown once), edit, delete, and each
subscription's deliveries with a "Redeliver" button (services of lumoauth.webhooks)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from lumoauth.webhooks.catalogue import ALL, CATEGORIES, EVENT_TYPES, FAMILIES, OPT_IN
from lumoauth.webhooks.models import Delivery, DeliveryAttempt, WebhookSubscription
from lumoauth.webhooks.subscriptions import (
    create_subscription,
    delete_subscription,
    redeliver,
    update_subscription,
)
from tenants.routing import tenant_url

from ..access import tenant_admin_required
from ..forms import add_service_errors

DELIVERIES_SHOWN = 100


def _event_choices() -> list:
    """Checkboxes by category: each family's "<family>.*" first, then its event types."""
    groups = [("All events", [(ALL, "* (every event except the opt-in token.issued)")])]
    for category, tops in CATEGORIES:
        options = []
        for top in tops:
            options += [(f"{f}.*", f"{f}.*") for f in FAMILIES if f == top or f.startswith(top + ".")]
            options += [(t, f"{t} (opt-in)" if t in OPT_IN else t) for t in EVENT_TYPES if t.split(".")[0] == top]
        groups.append((category, options))
    return groups


class WebhookForm(forms.Form):
    url = forms.CharField(label="Endpoint URL", max_length=2048, help_text="http(s); receives a signed POST per event.")
    description = forms.CharField(max_length=255, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events", choices=_event_choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    active = forms.BooleanField(label="Active", required=False, initial=True)
    notification_channel = forms.BooleanField(
        label="Notification channel: user notifications (e.g. sign-in approvals) are sent here", required=False
    )

    @classmethod
    def initial_for(cls, subscription: WebhookSubscription) -> dict:
        return {
            "url": subscription.url,
            "description": subscription.description,
            "event_types": subscription.event_types,
            "active": subscription.active,
            "notification_channel": subscription.notification_channel,
        }

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "url": data["url"],
            "description": data["description"],
            "event_types": list(data["event_types"]),
            "active": data["active"],
            "notification_channel": data["notification_channel"],
        }


def _subscription(request, uid):
    return WebhookSubscription.objects.filter(tenant=request.tenant, uid=uid).first()


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def webhook_list(request):
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        try:
            subscription, secret = create_subscription(
                request.tenant,
                values.pop("url"),
                values.pop("event_types"),
                actor=user_ref(request.user),
                request=request,
                **values,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            response = render(
                request,
                "portal/webhook_created.html",
                {"subscription": subscription, "secret": secret, "section": "webhooks"},
            )
            response["Cache-Control"] = "no-store"  # the secret is shown this once
            return response
    subscriptions = WebhookSubscription.objects.filter(tenant=request.tenant).order_by("created_at", "pk")
    failed = dict(
        Delivery.objects.filter(tenant=request.tenant, status=Delivery.Status.FAILED)
        .values_list("subscription_id")
        .order_by()
        .annotate(n=Count("pk"))
    )
    rows = [(s, failed.get(s.pk, 0)) for s in subscriptions]
    return render(
        request,
        "portal/webhooks.html",
        {"rows": rows, "form": form, "section": "webhooks"},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def webhook_edit(request, uid):
    subscription = _subscription(request, uid)
    if subscription is None:
        return error_response(request, 404)
    form = WebhookForm(request.POST or None, initial=WebhookForm.initial_for(subscription))
    if request.method == "POST" and form.is_valid():
        try:
            update_subscription(subscription, actor=user_ref(request.user), request=request, **form.values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Webhook {subscription} saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-webhooks"))
    return render(
        request,
        "portal/webhook_edit.html",
        {"subscription": subscription, "form": form, "section": "webhooks"},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@tenant_admin_required
def webhook_delete(request, uid):
    subscription = _subscription(request, uid)
    if subscription is None:
        return error_response(request, 404)
    name = str(subscription)
    delete_subscription(subscription, actor=user_ref(request.user), request=request)
    messages.success(request, f"Webhook {name} deleted.")
    return HttpResponseRedirect(tenant_url(request, "portal-webhooks"))


@require_http_methods(["GET"])
@tenant_admin_required
def webhook_deliveries(request, uid):
    subscription = _subscription(request, uid)
    if subscription is None:
        return error_response(request, 404)
    wanted = request.GET.get("status", "")
    deliveries = Delivery.objects.filter(tenant=request.tenant, subscription=subscription)
    if wanted in Delivery.Status.values:
        deliveries = deliveries.filter(status=wanted)
    deliveries = list(
        deliveries.select_related("message")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("-id")))
        .order_by("-pk")[:DELIVERIES_SHOWN]
    )
    rows = [(d, next(iter(d.attempt_log.all()), None)) for d in deliveries]
    return render(
        request,
        "portal/webhook_deliveries.html",
        {
            "subscription": subscription,
            "rows": rows,
            "status": wanted if wanted in Delivery.Status.values else "",
            "statuses": Delivery.Status.values,
            "section": "webhooks",
        },
    )


@require_POST
@tenant_admin_required
def webhook_redeliver(request, uid, delivery_id):
    subscription = _subscription(request, uid)
    delivery = None
    if subscription is not None and delivery_id < 2**63:  # a larger number would overflow the bigint column
        rows = Delivery.objects.select_related("message", "subscription")
        delivery = rows.filter(tenant=request.tenant, subscription=subscription, pk=delivery_id).first()
    if delivery is None:
        return error_response(request, 404)
    redeliver(delivery, actor=user_ref(request.user), request=request)
    messages.success(request, f"Delivery {delivery.pk} ({delivery.message.event_type}) queued again.")
    return HttpResponseRedirect(tenant_url(request, "portal-webhook-deliveries", uid=subscription.uid))
