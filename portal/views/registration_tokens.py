"""Initial access tokens for dynamic client registration (RFC 7591 §3): create (shown once), revoke."""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from oauth.models import InitialAccessToken
from oauth.services.registration import create_initial_access_token, revoke_initial_access_token
from tenants.routing import tenant_url

from ..access import tenant_admin_required


class InitialAccessTokenForm(forms.Form):
    label = forms.CharField(max_length=200, help_text="Who it is for, e.g. the developer or team.")
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=365,
        initial=7,
        required=False,
        help_text="Leave empty for a token that does not expire (revoke it when done).",
    )


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def token_list(request):
    form = InitialAccessTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        saved, token = create_initial_access_token(
            request.tenant,
            label=form.cleaned_data["label"],
            expires_in=days * 86400 if days else None,
            actor=user_ref(request.user),
            request=request,
        )
        response = render(
            request,
            "portal/registration_token_created.html",
            {"saved": saved, "token": token, "section": "clients"},
        )
        response["Cache-Control"] = "no-store"  # the token is shown this once
        return response
    tokens = InitialAccessToken.objects.filter(tenant=request.tenant).order_by("-created_at")
    return render(
        request,
        "portal/registration_tokens.html",
        {"tokens": tokens, "form": form, "now": timezone.now(), "section": "clients"},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@tenant_admin_required
def token_revoke(request, pk):
    token = InitialAccessToken.objects.filter(tenant=request.tenant, pk=pk, revoked_at__isnull=True).first()
    if token is None:
        return error_response(request, 404)
    revoke_initial_access_token(token, actor=user_ref(request.user), request=request)
    messages.success(request, f"Registration token {token.label or token.pk} revoked.")
    return HttpResponseRedirect(tenant_url(request, "portal-registration-tokens"))
