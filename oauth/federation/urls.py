"""OpenID Connect sign-in of a tenant (included from oauth/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("federation/oidc/<slug:slug>/login", views.login, name="federation-oidc-login"),
    path("federation/oidc/<slug:slug>/callback", views.callback, name="federation-oidc-callback"),
]
