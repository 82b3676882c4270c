"""The webhooks REST API, mounted under /t/<slug>/ (and /orgs/<slug>/) by lumoauth/urls.py."""

from django.urls import path

from .rest import views

urlpatterns = [
    path("api/v1/webhooks/", views.WebhookListView.as_view(), name="api-webhooks"),
    path("api/v1/webhooks", views.WebhookListView.as_view()),
    path("api/v1/webhooks/<str:uid>", views.WebhookDetailView.as_view(), name="api-webhook"),
    path("api/v1/webhooks/<str:uid>/deliveries", views.DeliveryListView.as_view(), name="api-webhook-deliveries"),
    path(
        "api/v1/webhooks/<str:uid>/deliveries/<str:delivery_id>/redeliver",
        views.RedeliverView.as_view(),
        name="api-webhook-redeliver",
    ),
]
