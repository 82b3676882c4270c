"""External token issuers the tenant trusts for token exchange (RFC 8693): list, add, edit, delete
(services of the oauth app; they decide what is valid)."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from oauth.issuer import issuer_for
from oauth.models import SubjectMatch, TrustedIssuer
from oauth.services.trusted_issuers import (
    TrustedIssuerSpec,
    create_trusted_issuer,
    delete_trusted_issuer,
    update_trusted_issuer,
)
from tenants.routing import tenant_url

from ..access import tenant_admin_required
from ..forms import add_service_errors

MAX_JWKS_CHARS = 65_536

SUBJECT_MATCH_CHOICES = [
    (SubjectMatch.EMAIL, "Users by email: the token's email claim is the email of one of this organization's users"),
    (SubjectMatch.USERNAME, "Users by username: its preferred_username (else sub) is a user's username"),
    (SubjectMatch.NONE, "Actors only: its tokens never stand for a user (workloads, agents)"),
]


class JWKSField(forms.CharField):
    """A pasted JWK Set: JSON text in the textarea, a dict once cleaned (empty text: no keys)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_JWKS_CHARS)
        super().__init__(widget=forms.Textarea(attrs={"rows": 8, "cols": 60, "spellcheck": "false"}), **kwargs)

    def prepare_value(self, value):
        return json.dumps(value, indent=2) if isinstance(value, dict) else value

    def clean(self, value):
        text = super().clean(value)
        if not text.strip():
            return {}
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):
            raise ValidationError("Not valid JSON.") from None
        if not isinstance(document, dict):
            raise ValidationError('A JWK Set is a JSON object: {"keys": [...]}.')
        return document


class TrustedIssuerForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Shown in the portal and in the audit log.")
    issuer = forms.CharField(
        max_length=1024, help_text="The exact <code>iss</code> value of its tokens, e.g. https://agents.example.com."
    )
    jwks_uri = forms.CharField(
        label="Keys URL (jwks_uri)",
        max_length=2048,
        required=False,
        help_text="An https URL serving the issuer's JWK Set. Give this or the keys below, not both.",
    )
    jwks = JWKSField(
        label="Keys (JWK Set)",
        help_text='Its public keys as JSON, <code>{"keys": [...]}</code>, for an issuer without a keys URL.',
    )
    audience = forms.CharField(max_length=1024, required=False)
    allowed_scopes = forms.CharField(
        label="Allowed scopes (space-separated)",
        max_length=2000,
        required=False,
        help_text=(
            "The most its tokens can be exchanged for. Empty: the scopes its token's <code>scope</code> claim "
            "lists that this organization knows."
        ),
    )
    subject_match = forms.ChoiceField(
        label="As subject tokens",
        choices=SUBJECT_MATCH_CHOICES,
        widget=forms.RadioSelect,
        initial=SubjectMatch.NONE,
        help_text="Whom its tokens stand for. As actor tokens they always name the workload or agent by its sub.",
    )
    active = forms.BooleanField(label="Active: its tokens are accepted", required=False, initial=True)

    def __init__(self, *args, issuer: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["audience"].help_text = format_html(
            "The <code>aud</code> its tokens must carry. Empty: this organization's issuer, <code>{}</code>.", issuer
        )

    @classmethod
    def initial_for(cls, trusted: TrustedIssuer) -> dict:
        return {
            "name": trusted.name,
            "issuer": trusted.issuer,
            "jwks_uri": trusted.jwks_uri,
            "jwks": trusted.jwks or "",
            "audience": trusted.audience,
            "allowed_scopes": trusted.allowed_scopes,
            "subject_match": trusted.subject_match,
            "active": trusted.active,
        }

    def spec(self) -> TrustedIssuerSpec:
        data = self.cleaned_data
        return TrustedIssuerSpec(
            name=data["name"],
            issuer=data["issuer"],
            jwks=data["jwks"],
            jwks_uri=data["jwks_uri"],
            audience=data["audience"],
            allowed_scopes=" ".join(data["allowed_scopes"].split()),
            subject_match=data["subject_match"],
            active=data["active"],
        )


def _trusted(request, pk):
    if pk >= 2**63:  # a larger number would overflow the bigint column
        return None
    return TrustedIssuer.objects.filter(tenant=request.tenant, pk=pk).first()


def _keys(trusted: TrustedIssuer) -> int:
    keys = trusted.jwks.get("keys") if isinstance(trusted.jwks, dict) else None
    return len(keys) if isinstance(keys, list) else 0


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def issuer_list(request):
    form = TrustedIssuerForm(request.POST or None, issuer=issuer_for(request.tenant, request))
    if request.method == "POST" and form.is_valid():
        try:
            trusted = create_trusted_issuer(request.tenant, form.spec(), actor=user_ref(request.user), request=request)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{trusted} is now a trusted issuer.")
            return HttpResponseRedirect(tenant_url(request, "portal-trusted-issuers"))
    rows = [(t, _keys(t)) for t in TrustedIssuer.objects.filter(tenant=request.tenant).order_by("name", "pk")]
    return render(
        request,
        "portal/trusted_issuers.html",
        {"rows": rows, "form": form, "section": "clients"},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def issuer_edit(request, pk):
    trusted = _trusted(request, pk)
    if trusted is None:
        return error_response(request, 404)
    form = TrustedIssuerForm(
        request.POST or None, initial=TrustedIssuerForm.initial_for(trusted), issuer=issuer_for(request.tenant, request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_trusted_issuer(trusted, form.spec(), actor=user_ref(request.user), request=request)
        except ValidationError as exc:
            add_service_errors(form, exc)
            trusted.refresh_from_db()  # the page shows what is saved; the form shows what was typed
        else:
            messages.success(request, f"Trusted issuer {trusted} saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-trusted-issuers"))
    return render(
        request,
        "portal/trusted_issuer_edit.html",
        {"trusted": trusted, "form": form, "section": "clients"},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@tenant_admin_required
def issuer_delete(request, pk):
    trusted = _trusted(request, pk)
    if trusted is None:
        return error_response(request, 404)
    name = str(trusted)
    delete_trusted_issuer(trusted, actor=user_ref(request.user), request=request)
    messages.success(request, f"{name} is no longer trusted.")
    return HttpResponseRedirect(tenant_url(request, "portal-trusted-issuers"))
