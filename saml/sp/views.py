"""The tenant's SAML SP endpoints: metadata, login (to a connected IdP) and the assertion consumer."""

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from lumoauth.events.api import Outcome, record, user_ref
from tenants.routing import tenant_url
from tenants.signin import session
from tenants.signin.password import sign_out
from tenants.signin.redirects import safe_next

from ..idp.sso import SSOError
from ..idp.views import metadata_response, requires_xmlsec
from ..models import IdPConnection
from ..same_site import resubmit_cross_site_post
from . import flow
from .client import signed_sp_metadata
from .slo import handle_idp_logout


@requires_xmlsec
@require_GET
def metadata(request):
    return metadata_response(signed_sp_metadata(request.tenant, request))


def _error(request, message: str, detail: str = ""):
    record(
        "login.failed",
        request=request,
        outcome=Outcome.FAILURE,
        details={"method": "saml", "reason": message, "detail": detail},
    )
    return render(request, "saml/error.html", {"message": message}, status=400)


@requires_xmlsec
@never_cache
@require_GET
def login(request):
    connection = IdPConnection.objects.filter(
        tenant=request.tenant, slug=request.GET.get("idp", "")[:63], active=True
    ).first()
    if connection is None:
        return _error(request, "This organization has no such sign-in option.")
    return HttpResponseRedirect(
        flow.start(request.tenant, request, connection, safe_next(request.tenant, request.GET.get("next")))
    )


@requires_xmlsec
@csrf_exempt  # the IdP posts cross-site; the signed response is verified instead
@never_cache
@require_POST
@resubmit_cross_site_post  # ... without our session cookie: posted again from our own page
def acs(request):
    tenant = request.tenant
    try:
        finished = flow.finish(tenant, request, request.POST.get("SAMLResponse", ""))
    except SSOError as error:
        return _error(request, str(error), repr(error.__cause__) if error.__cause__ else "")
    session.sign_in(request, tenant, finished.user, amr=["saml"])
    record(
        "login.succeeded",
        tenant=tenant,
        request=request,
        actor=user_ref(finished.user),
        target=user_ref(finished.user),
        details={"method": "saml", "connection": finished.connection.name},
    )
    return HttpResponseRedirect(finished.next_url or tenant_url(request, "account"))


@requires_xmlsec
@never_cache
@require_GET
def slo(request):
    tenant = request.tenant
    try:
        location = handle_idp_logout(tenant, request, request.GET, lambda: sign_out(request, tenant))
    except SSOError as error:
        record("saml.slo.failed", request=request, outcome=Outcome.FAILURE, details={"reason": str(error)})
        return render(request, "saml/error.html", {"message": str(error)}, status=400)
    record("saml.slo.succeeded", request=request, details={"initiated_by": "idp"})
    return HttpResponseRedirect(location)
