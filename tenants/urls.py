"""Tenant-scoped pages of the directory (included under /t/<slug>/ and /orgs/<slug>/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.tenant_home, name="home"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("account", views.account_view, name="account"),
]
