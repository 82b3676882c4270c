"""SAML of the tenant: the service providers it signs in to (as IdP) and the corporate IdPs its users
sign in with (as SP). Registration, edits and deletion go through the saml app's audited services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from lumoauth.urls_public import public_url
from saml.idp.server import idp_urls
from saml.models import IdPConnection, ServiceProvider
from saml.services.idp_connections import create_connection, delete_connection, update_connection
from saml.services.service_providers import delete_service_provider, register_from_metadata, update_service_provider
from saml.sp.client import sp_urls
from tenants.routing import tenant_url

from ..access import tenant_admin_required
from ..forms import add_service_errors
from ..saml_forms import ConnectionCreateForm, ConnectionForm, ServiceProviderCreateForm, ServiceProviderForm, changes
from .oidc_connections import domain_status


def _sp(request, pk):
    return ServiceProvider.objects.filter(tenant=request.tenant, pk=pk).first()


def _connection(request, slug):
    return IdPConnection.objects.filter(tenant=request.tenant, slug=slug).first()


def _status(request) -> int:
    # A POST that comes back to the page (instead of redirecting) was refused.
    return 400 if request.method == "POST" else 200


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def sp_list(request):
    form = ServiceProviderCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sp = register_from_metadata(
                request.tenant,
                data["metadata"],
                name=data["name"],
                nameid_format=data["nameid_format"] or None,
                actor=user_ref(request.user),
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Service provider {sp} registered.")
            return HttpResponseRedirect(tenant_url(request, "portal-saml"))
    context = {
        "providers": ServiceProvider.objects.filter(tenant=request.tenant),
        "form": form,
        "idp": idp_urls(request.tenant, request),
        "idp_metadata_url": public_url(tenant_url(request, "saml-idp-metadata"), request),
        "section": "saml",
        "tab": "providers",
    }
    return render(request, "portal/saml_providers.html", context, status=_status(request))


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def sp_edit(request, pk):
    sp = _sp(request, pk)
    if sp is None:
        return error_response(request, 404)
    initial = {name: getattr(sp, name) for name in ServiceProviderForm.base_fields}
    form = ServiceProviderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if changed := changes(form):
                update_service_provider(sp, actor=user_ref(request.user), request=request, **changed)
        except ValidationError as exc:
            add_service_errors(form, exc)
            sp.refresh_from_db()  # the page describes what is stored, not the refused change
        else:
            messages.success(request, f"Service provider {sp} saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-saml"))
    context = {"sp": sp, "form": form, "section": "saml", "tab": "providers"}
    return render(request, "portal/saml_provider.html", context, status=_status(request))


@require_POST
@tenant_admin_required
def sp_delete(request, pk):
    sp = _sp(request, pk)
    if sp is None:
        return error_response(request, 404)
    name = str(sp)
    delete_service_provider(sp, actor=user_ref(request.user), request=request)
    messages.success(request, f"Service provider {name} deleted.")
    return HttpResponseRedirect(tenant_url(request, "portal-saml"))


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def connection_list(request):
    form = ConnectionCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection = create_connection(
                request.tenant,
                data["slug"],
                data["name"],
                data["metadata"] if data["metadata"].strip() else None,
                metadata_url=data["metadata_url"],
                actor=user_ref(request.user),
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Identity provider {connection.name} connected.")
            return HttpResponseRedirect(tenant_url(request, "portal-saml-connection", slug=connection.slug))
    context = {
        "connections": IdPConnection.objects.filter(tenant=request.tenant),
        "form": form,
        "sp": sp_urls(request.tenant, request),
        "section": "saml",
        "tab": "connections",
    }
    return render(request, "portal/saml_connections.html", context, status=_status(request))


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def connection_edit(request, slug):
    connection = _connection(request, slug)
    if connection is None:
        return error_response(request, 404)
    initial = {name: getattr(connection, name) for name in ConnectionForm.base_fields}
    form = ConnectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if changed := changes(form):
                update_connection(connection, actor=user_ref(request.user), request=request, **changed)
        except ValidationError as exc:
            add_service_errors(form, exc)
            connection.refresh_from_db()
        else:
            messages.success(request, f"Identity provider {connection.name} saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-saml-connections"))
    context = {
        "connection": connection,
        "form": form,
        "domains": domain_status(request.tenant, connection.email_domains),
        "section": "saml",
        "tab": "connections",
    }
    return render(request, "portal/saml_connection.html", context, status=_status(request))


@require_POST
@tenant_admin_required
def connection_delete(request, slug):
    connection = _connection(request, slug)
    if connection is None:
        return error_response(request, 404)
    name = connection.name
    delete_connection(connection, actor=user_ref(request.user), request=request)
    messages.success(request, f"Identity provider {name} deleted.")
    return HttpResponseRedirect(tenant_url(request, "portal-saml-connections"))
