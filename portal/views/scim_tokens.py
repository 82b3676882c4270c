"""SCIM bearer tokens of the tenant: list, create (shown once), revoke (scim/tokens.py)."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from lumoauth.urls_public import public_url
from scim.models import SCIMToken
from scim.tokens import create_scim_token, revoke_scim_token
from tenants.routing import tenant_url

from ..access import tenant_admin_required


class SCIMTokenForm(forms.Form):
    label = forms.CharField(max_length=200, help_text="Which identity provider uses it, e.g. “Okta production”.")


def _base_url(request) -> str:
    return public_url(f"/t/{request.tenant.slug}/scim/v2/", request)


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def token_list(request):
    form = SCIMTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved, token = create_scim_token(
            request.tenant, label=form.cleaned_data["label"], actor=user_ref(request.user), request=request
        )
        response = render(
            request,
            "portal/scim_token_created.html",
            {"saved": saved, "token": token, "base_url": _base_url(request), "section": "scim"},
        )
        response["Cache-Control"] = "no-store"  # the token is shown this once
        return response
    tokens = SCIMToken.objects.filter(tenant=request.tenant).order_by("-created_at", "-pk")
    return render(
        request,
        "portal/scim_tokens.html",
        {"tokens": tokens, "form": form, "base_url": _base_url(request), "section": "scim"},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@tenant_admin_required
def token_revoke(request, pk):
    token = SCIMToken.objects.filter(tenant=request.tenant, pk=pk).first()
    if token is None:
        return error_response(request, 404)
    if token.revoked_at is None:
        revoke_scim_token(token, actor=user_ref(request.user), request=request)
        messages.success(request, f"SCIM token {token} revoked: the identity provider using it gets 401 from now on.")
    else:
        messages.info(request, f"SCIM token {token} was already revoked.")
    return HttpResponseRedirect(tenant_url(request, "portal-scim-tokens"))
