"""SCIM 2.0 endpoints of a tenant, under /t/<slug>/scim/v2/."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("scim/v2/Users", views.UsersView.as_view(), name="scim-users"),
    path("scim/v2/Users/<str:uuid>", views.UsersView.as_view(), name="scim-user"),
    path("scim/v2/Groups", views.GroupsView.as_view(), name="scim-groups"),
    path("scim/v2/Groups/<str:uuid>", views.GroupsView.as_view(), name="scim-group"),
    path("scim/v2/ServiceProviderConfig", views.DiscoveryView.as_view(document="config"), name="scim-config"),
    path("scim/v2/ResourceTypes", views.DiscoveryView.as_view(document="types"), name="scim-resource-types"),
    path("scim/v2/ResourceTypes/<str:uuid>", views.DiscoveryView.as_view(document="types")),
    path("scim/v2/Schemas", views.DiscoveryView.as_view(document="schemas"), name="scim-schemas"),
    path("scim/v2/Schemas/<str:uuid>", views.DiscoveryView.as_view(document="schemas")),
    path("scim/v2/Me", views.MeView.as_view(), name="scim-me"),
    re_path(r"^scim/v2/.*$", views.NotFoundView.as_view()),
]
