"""The tenant's OpenID Connect sign-in endpoints: start at the provider, come back to the callback."""

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lumoauth.events.api import Outcome, Ref, record
from tenants.routing import tenant_url
from tenants.signin.redirects import safe_next

from . import flow
from .models import OIDCConnection


def _failure(request, reason: str, message: str, *, connection: OIDCConnection | None = None, status: int = 400):
    details = {"method": "oidc", "reason": reason}
    target = None
    if connection is not None:
        details["connection"] = connection.slug
        target = Ref("oidc_connection", str(connection.pk), connection.name)
    record("login.failed", request=request, outcome=Outcome.FAILURE, target=target, details=details)
    context = {"message": message, "login_url": tenant_url(request, "login")}
    return render(request, "tenants/login_failed.html", context, status=status)


def _connection(request, slug: str) -> OIDCConnection | None:
    return OIDCConnection.objects.filter(tenant=request.tenant, slug=slug[:63], active=True).first()


@never_cache
@require_GET
def login(request, slug):
    connection = _connection(request, slug)
    if connection is None:
        return _failure(request, "unknown_connection", "This organization has no such sign-in option.", status=404)
    next_url = safe_next(request.tenant, request.GET.get("next"))
    hint = request.GET.get("login_hint", "")
    return HttpResponseRedirect(flow.start(request, connection, next_url=next_url, login_hint=hint))


@never_cache
@require_GET
def callback(request, slug):
    connection = _connection(request, slug)
    if connection is None:
        return _failure(request, "unknown_connection", "This organization has no such sign-in option.", status=404)
    try:
        authenticated = flow.authenticate(request, connection, request.GET)
        flow.complete(request, connection, authenticated)
    except flow.FederationError as error:
        return _failure(request, error.reason, str(error), connection=connection)
    return HttpResponseRedirect(authenticated.next_url or tenant_url(request, "account"))
