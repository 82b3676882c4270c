"""The webhooks REST API under /t/<slug>/api/v1/webhooks/ (docs/webhooks.md): thin views over the
subscription services. Errors are Django REST framework's JSON ({"detail": ...} or field errors)."""

import uuid

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from lumoauth.events.api import user_ref

from ..models import Delivery, DeliveryAttempt, WebhookSubscription
from ..scope import SCOPE as WEBHOOKS_SCOPE
from ..subscriptions import create_subscription, delete_subscription, redeliver, update_subscription
from .auth import REALM, IsTenantAdmin, TenantBearerAuthentication
from .serializers import SubscriptionInput, delivery_json, subscription_json

PAGE_SIZE = 50


class TenantAdminAPIView(APIView):
    authentication_classes = [TenantBearerAuthentication]
    permission_classes = [IsTenantAdmin]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.PermissionDenied):
            # RFC 6750 §3.1: a valid token without the privileges the request needs.
            response["WWW-Authenticate"] = (
                f'Bearer realm="{REALM}", error="insufficient_scope", scope="{WEBHOOKS_SCOPE}", '
                'error_description="The token must belong to an administrator of this organization."'
            )
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # secrets and delivery logs are never cached
        return response

    def actor(self, request):
        return user_ref(request.user)

    def subscription(self, request, uid: str) -> WebhookSubscription:
        """The tenant's subscription, or 404: another tenant's is as unknown as a made-up id."""
        try:
            uid = uuid.UUID(uid)
        except ValueError:
            raise exceptions.NotFound() from None
        found = WebhookSubscription.objects.filter(tenant=request.tenant, uid=uid).first()
        if found is None:
            raise exceptions.NotFound()
        return found


def _validated(serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _service_errors(exc: ValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class WebhookListView(TenantAdminAPIView):
    def get(self, request):
        rows = WebhookSubscription.objects.filter(tenant=request.tenant).order_by("created_at", "pk")
        return Response({"webhooks": [subscription_json(s) for s in rows]})

    def post(self, request):
        data = _validated(SubscriptionInput(data=request.data))
        try:
            subscription, secret = create_subscription(
                request.tenant,
                data.pop("url"),
                data.pop("event_types"),
                actor=self.actor(request),
                request=request._request,
                **data,
            )
        except ValidationError as exc:
            raise _service_errors(exc) from exc
        # The secret is in this answer only; it cannot be read again.
        return Response(subscription_json(subscription) | {"secret": secret}, status=status.HTTP_201_CREATED)


class WebhookDetailView(TenantAdminAPIView):
    def get(self, request, uid):
        return Response(subscription_json(self.subscription(request, uid)))

    def patch(self, request, uid):
        subscription = self.subscription(request, uid)
        changes = _validated(SubscriptionInput(data=request.data, partial=True))
        try:
            update_subscription(subscription, actor=self.actor(request), request=request._request, **changes)
        except ValidationError as exc:
            raise _service_errors(exc) from exc
        return Response(subscription_json(subscription))

    def delete(self, request, uid):
        delete_subscription(self.subscription(request, uid), actor=self.actor(request), request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _positive_int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 18:
        raise exceptions.ValidationError({name: "Expected a positive integer."})
    return int(value)


class DeliveryListView(TenantAdminAPIView):
    def get(self, request, uid):
        subscription = self.subscription(request, uid)
        rows = Delivery.objects.filter(tenant=request.tenant, subscription=subscription)
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in Delivery.Status.values:
                raise exceptions.ValidationError({"status": f"One of {', '.join(Delivery.Status.values)}."})
            rows = rows.filter(status=wanted)
        before = _positive_int(request.query_params.get("before"), "before")
        if before is not None:
            rows = rows.filter(pk__lt=before)
        page = list(
            rows.select_related("message")
            .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("-id")))
            .order_by("-pk")[: PAGE_SIZE + 1]
        )
        more = len(page) > PAGE_SIZE
        page = page[:PAGE_SIZE]
        return Response(
            {"deliveries": [delivery_json(d) for d in page], "next_before": page[-1].pk if more and page else None}
        )


class RedeliverView(TenantAdminAPIView):
    def post(self, request, uid, delivery_id):
        subscription = self.subscription(request, uid)
        if not delivery_id.isdigit() or len(delivery_id) > 18:
            raise exceptions.NotFound()
        rows = Delivery.objects.select_related("message", "subscription")
        delivery = rows.filter(tenant=request.tenant, subscription=subscription, pk=int(delivery_id)).first()
        if delivery is None:
            raise exceptions.NotFound()
        delivery = redeliver(delivery, actor=self.actor(request), request=request._request)
        return Response(delivery_json(delivery), status=status.HTTP_202_ACCEPTED)
