"""The organization's settings: display name, default token lifetimes, password policy, email domains,
rate limits, and the authorization server's switch requiring pushed authorization requests."""

from dataclasses import asdict

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from lumoauth import ratelimit
from lumoauth.events.api import user_ref
from oauth.services.server_settings import (
    requires_pushed_authorization_requests,
    set_requires_pushed_authorization_requests,
)
from tenants.policy import (
    MAX_LIFETIME,
    MAX_PASSWORD_LENGTH,
    MIN_LIFETIME,
    MIN_PASSWORD_LENGTH,
    TenantPolicy,
    tenant_policy,
    update_tenant_policy,
)
from tenants.routing import tenant_url

from ..access import tenant_admin_required
from ..forms import add_service_errors


class SettingsForm(forms.Form):
    name = forms.CharField(label="Display name", max_length=200)
    access_token_lifetime = forms.IntegerField(
        label="Default access token lifetime (seconds)",
        min_value=MIN_LIFETIME,
        max_value=MAX_LIFETIME,
        help_text="For new OAuth clients; each client can change it.",
    )
    refresh_token_lifetime = forms.IntegerField(
        label="Default refresh token lifetime (seconds)", min_value=MIN_LIFETIME, max_value=MAX_LIFETIME
    )
    password_min_length = forms.IntegerField(
        label="Minimum password length", min_value=MIN_PASSWORD_LENGTH, max_value=MAX_PASSWORD_LENGTH
    )
    password_require_mixed_case = forms.BooleanField(label="Require upper- and lower-case letters", required=False)
    password_require_digit = forms.BooleanField(label="Require a digit", required=False)
    password_require_symbol = forms.BooleanField(label="Require a symbol", required=False)
    allowed_email_domains = forms.CharField(
        label="Allowed email domains (one per line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Users' email addresses must be at one of these domains. Empty: any domain.",
    )
    require_pushed_authorization_requests = forms.BooleanField(
        label="Require pushed authorization requests (PAR) from every client",
        required=False,
        help_text=(
            "RFC 9126: each authorization request must first be pushed to the PAR endpoint; one sent straight "
            "to the authorization endpoint is refused. Discovery announces it "
            "(<code>require_pushed_authorization_requests</code>). Off: only clients that require it on "
            "their own page must push."
        ),
    )

    CHECKBOXES = ("password_require_mixed_case", "password_require_digit", "password_require_symbol")
    RATE_PREFIX = "rate_limit_"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        platform = ratelimit.platform_rates()
        for name, scope in ratelimit.SCOPES.items():
            default = str(platform[name] or "no limit")
            self.fields[self.RATE_PREFIX + name] = forms.CharField(
                label=scope.label,
                required=False,
                max_length=32,
                validators=[_rate_validator(name)],
                widget=forms.TextInput(attrs={"placeholder": default}),
                help_text=f"Empty: the platform's default ({default}).",
            )

    @property
    def rate_limit_fields(self) -> list:
        return [self[name] for name in self.fields if name.startswith(self.RATE_PREFIX)]

    @classmethod
    def initial_for(cls, tenant) -> dict:
        policy = asdict(tenant_policy(tenant))
        rates = {cls.RATE_PREFIX + name: value for name, value in policy.pop("rate_limits").items()}
        return (
            policy
            | rates
            | {
                "name": tenant.name,
                "allowed_email_domains": "\n".join(policy["allowed_email_domains"]),
                "require_pushed_authorization_requests": requires_pushed_authorization_requests(tenant),
            }
        )

    def policy(self) -> TenantPolicy:
        data = dict(self.cleaned_data)
        data.pop("name")
        data.pop("require_pushed_authorization_requests")
        data["allowed_email_domains"] = tuple(data["allowed_email_domains"].split())
        rates = {name: data.pop(name) for name in [n for n in data if n.startswith(self.RATE_PREFIX)]}
        data["rate_limits"] = {name.removeprefix(self.RATE_PREFIX): rate for name, rate in rates.items() if rate}
        return TenantPolicy(**data)


def _rate_validator(scope: str):
    def validate(value: str) -> None:
        problem = ratelimit.check_tenant_rates({scope: value}).get(scope) if value.strip() else None
        if problem:
            raise ValidationError(problem)

    return validate


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def tenant_settings(request):
    tenant = request.tenant
    form = SettingsForm(request.POST or None, initial=SettingsForm.initial_for(tenant))
    if request.method == "POST" and form.is_valid():
        require_par = form.cleaned_data["require_pushed_authorization_requests"]
        try:
            with transaction.atomic():  # all or nothing; the switch is audited only when it changes
                update_tenant_policy(
                    tenant,
                    name=form.cleaned_data["name"],
                    policy=form.policy(),
                    actor=user_ref(request.user),
                    request=request,
                )
                if require_par != requires_pushed_authorization_requests(tenant):
                    set_requires_pushed_authorization_requests(
                        tenant, require_par, actor=user_ref(request.user), request=request
                    )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Settings saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-settings"))
    return render(
        request,
        "portal/settings.html",
        {"form": form, "section": "settings"},
        status=400 if request.method == "POST" else 200,
    )
