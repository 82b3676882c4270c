"""OpenID Connect connections of the tenant (Google, Entra ID, GitHub, any OpenID Provider): list,
add, edit, refresh from discovery, delete - through the oauth app's audited federation services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from oauth.federation.flow import redirect_uri
from oauth.federation.models import OIDCConnection, Preset
from oauth.federation.services import create_connection, delete_connection, refresh_metadata, update_connection
from tenants.domains.models import DomainClaim
from tenants.routing import tenant_url

from ..access import tenant_admin_required
from ..forms import add_service_errors
from ..oidc_forms import OIDCConnectionCreateForm, OIDCConnectionForm
from ..saml_forms import changes


def _connection(request, slug):
    return OIDCConnection.objects.filter(tenant=request.tenant, slug=slug).first()


def _status(request) -> int:
    return 400 if request.method == "POST" else 200


def domain_status(tenant, domains) -> list[dict]:
    """Each domain with its claim's state, for the connection pages."""
    claims = {c.domain: c for c in DomainClaim.objects.filter(tenant=tenant, domain__in=list(domains))}
    return [{"domain": d, "claim": claims.get(d)} for d in domains]


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def connection_list(request):
    form = OIDCConnectionCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection = create_connection(
                request.tenant,
                slug=data["slug"],
                name=data["name"],
                preset=data["preset"],
                issuer=data["issuer"],
                microsoft_tenant=data["microsoft_tenant"],
                client_id=data["client_id"],
                client_secret=data["client_secret"],
                actor=user_ref(request.user),
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{connection.name} connected. Give the provider the redirect URI shown below.")
            return HttpResponseRedirect(tenant_url(request, "portal-oidc-connection", slug=connection.slug))
    connections = list(OIDCConnection.objects.filter(tenant=request.tenant))
    for connection in connections:
        connection.domains = domain_status(request.tenant, connection.email_domains)
    context = {
        "connections": connections,
        "form": form,
        "redirect_uri_pattern": redirect_uri(request, OIDCConnection(tenant=request.tenant, slug="SLUG")).replace(
            "/SLUG/", "/<slug>/"
        ),
        "section": "saml",
        "tab": "oidc",
    }
    return render(request, "portal/oidc_connections.html", context, status=_status(request))


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def connection_edit(request, slug):
    connection = _connection(request, slug)
    if connection is None:
        return error_response(request, 404)
    form_class = OIDCConnectionForm
    initial = {name: getattr(connection, name) for name in form_class.base_fields if name != "client_secret"}
    form = form_class(request.POST or None, initial=initial, connection=connection)
    if request.method == "POST" and form.is_valid():
        changed = changes(form)
        if not changed.get("client_secret"):
            changed.pop("client_secret", None)  # empty: keep the stored secret
        try:
            if changed:
                update_connection(connection, actor=user_ref(request.user), request=request, **changed)
        except ValidationError as exc:
            add_service_errors(form, exc)
            connection.refresh_from_db()  # the page describes what is stored, not the refused change
        else:
            messages.success(request, f"{connection.name} saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-oidc-connections"))
    context = {
        "connection": connection,
        "form": form,
        "redirect_uri": redirect_uri(request, connection),
        "domains": domain_status(request.tenant, connection.email_domains),
        "is_custom": connection.preset == Preset.CUSTOM,
        "section": "saml",
        "tab": "oidc",
    }
    response = render(request, "portal/oidc_connection.html", context, status=_status(request))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_admin_required
def connection_refresh(request, slug):
    connection = _connection(request, slug)
    if connection is None:
        return error_response(request, 404)
    try:
        refresh_metadata(connection, actor=user_ref(request.user), request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{connection.name}: provider metadata fetched again.")
    return HttpResponseRedirect(tenant_url(request, "portal-oidc-connection", slug=connection.slug))


@require_POST
@tenant_admin_required
def connection_delete(request, slug):
    connection = _connection(request, slug)
    if connection is None:
        return error_response(request, 404)
    name = connection.name
    delete_connection(connection, actor=user_ref(request.user), request=request)
    messages.success(request, f"{name} deleted; its users can no longer sign in through it.")
    return HttpResponseRedirect(tenant_url(request, "portal-oidc-connections"))
