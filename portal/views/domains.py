"""The tenant's email domains: claim one, publish its DNS TXT record, verify it. A verified domain
sends its people from the sign-in page to the SAML or OpenID Connect connection that lists it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from tenants.domains.claims import claim_domain, delete_claim, verify_claim
from tenants.domains.home_realm import connections
from tenants.domains.models import DomainClaim
from tenants.routing import tenant_url
from tenants.signin.redirects import safe_next

from ..access import tenant_admin_required
from ..forms import add_service_errors
from ..oidc_forms import DomainForm


def _claim(request, pk):
    return DomainClaim.objects.filter(tenant=request.tenant, pk=pk).first()


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def domain_list(request):
    form = DomainForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claim = claim_domain(
                request.tenant, form.cleaned_data["domain"], actor=user_ref(request.user), request=request
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Publish the TXT record below, then verify {claim.domain}.")
            return HttpResponseRedirect(tenant_url(request, "portal-domains"))
    served_by = {}
    for connection in connections(request.tenant):
        for domain in connection.email_domains:
            served_by[domain] = connection
    claims = list(DomainClaim.objects.filter(tenant=request.tenant))
    for claim in claims:
        claim.connection = served_by.get(claim.domain)
    context = {"claims": claims, "form": form, "section": "saml", "tab": "domains"}
    return render(request, "portal/domains.html", context, status=400 if request.method == "POST" else 200)


@require_POST
@tenant_admin_required
def domain_verify(request, pk):
    claim = _claim(request, pk)
    if claim is None:
        return error_response(request, 404)
    if verify_claim(claim, actor=user_ref(request.user), request=request):
        messages.success(request, f"{claim.domain} is verified.")
    else:
        claim.refresh_from_db()
        messages.error(request, f"{claim.domain} is not verified yet: {claim.last_error}")
    # Back where the button was (a connection's page or this list); only a path of this tenant.
    return HttpResponseRedirect(
        safe_next(request.tenant, request.POST.get("next")) or tenant_url(request, "portal-domains")
    )


@require_POST
@tenant_admin_required
def domain_delete(request, pk):
    claim = _claim(request, pk)
    if claim is None:
        return error_response(request, 404)
    domain = claim.domain
    delete_claim(claim, actor=user_ref(request.user), request=request)
    messages.success(request, f"{domain} is no longer claimed; its people sign in with a password.")
    return HttpResponseRedirect(tenant_url(request, "portal-domains"))
