"""One user's access, on their page: reset the password, end sign-in sessions, unlink external
identities, revoke OAuth consents and tokens (services of the tenants and oauth apps)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from oauth.models import Client, Consent
from oauth.services.authorizations import revoke_user_tokens, user_authorizations
from oauth.services.consents import revoke_consent
from tenants.domains.home_realm import connection_labels
from tenants.models import FederatedIdentity, SignInSession, User
from tenants.routing import tenant_url
from tenants.services.sessions import end_session, end_user_sessions, user_sessions
from tenants.services.users import set_password, set_random_password, unlink_identity
from tenants.signin.session import current_key

from ..access import tenant_admin_required


class ResetPasswordForm(forms.Form):
    new_password = forms.CharField(
        label="New password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    confirm_password = forms.CharField(
        label="Repeat the new password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        new, confirm = cleaned.get("new_password"), cleaned.get("confirm_password")
        if new and confirm and new != confirm:
            self.add_error("confirm_password", "The two passwords differ.")
        return cleaned


def _user(request, sub):
    return User.objects.filter(tenant=request.tenant, sub=sub).first()


def _back(request, user) -> HttpResponseRedirect:
    return HttpResponseRedirect(tenant_url(request, "portal-user", sub=user.sub))


def security_context(request, user) -> dict:
    """What the user's page lists below the claims form."""
    labels = connection_labels(request.tenant)  # SAML and OpenID Connect connections by their key
    identities = list(FederatedIdentity.objects.filter(tenant=request.tenant, user=user).order_by("created_at"))
    for identity in identities:
        identity.label = labels.get(identity.connection, identity.connection)
    mine = current_key(request, request.tenant, request.user) if user.pk == request.user.pk else None
    sessions = list(user_sessions(user))
    for session in sessions:
        session.is_current = mine is not None and session.key == mine
    return {
        "identities": identities,
        "consents": Consent.objects.filter(tenant=request.tenant, user=user).select_related("client"),
        "authorizations": user_authorizations(user),
        "sessions": sessions,
    }


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def user_password(request, sub):
    user = _user(request, sub)
    if user is None:
        return error_response(request, 404)
    if user.pk == request.user.pk:
        messages.error(request, "Change your own password on your account page.")
        return _back(request, user)
    form = ResetPasswordForm(request.POST or None)
    if request.method == "POST" and request.POST.get("generate") == "1":
        try:
            password = set_random_password(user, actor=user_ref(request.user), request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return _back(request, user)
        # The password is shown this once; the page is never cached.
        response = render(
            request, "portal/user_password_shown.html", {"account": user, "password": password, "section": "users"}
        )
        response["Cache-Control"] = "no-store"
        return response
    if request.method == "POST" and form.is_valid():
        try:
            set_password(user, form.cleaned_data["new_password"], actor=user_ref(request.user), request=request)
        except ValidationError as exc:
            form.add_error("new_password", exc.messages)
        else:
            messages.success(request, f"Password of {user.username} reset; they were signed out everywhere.")
            return _back(request, user)
    response = render(
        request,
        "portal/user_password.html",
        {"form": form, "account": user, "section": "users"},
        status=400 if request.method == "POST" else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_admin_required
def user_session_end(request, sub, session_id):
    user = _user(request, sub)
    session = user and SignInSession.objects.filter(tenant=request.tenant, user=user, pk=session_id).first()
    if not session:
        return error_response(request, 404)
    if end_session(session, actor=user_ref(request.user), request=request):
        messages.success(request, f"{user.username} is signed out of that session.")
    return _back(request, user)


@require_POST
@tenant_admin_required
def user_sessions_end(request, sub):
    user = _user(request, sub)
    if user is None:
        return error_response(request, 404)
    ended = end_user_sessions(user, actor=user_ref(request.user), request=request)
    messages.success(request, f"{user.username} is signed out everywhere ({ended} session{'s' * (ended != 1)}).")
    return _back(request, user)


@require_POST
@tenant_admin_required
def user_identity_unlink(request, sub, identity_id):
    user = _user(request, sub)
    identity = user and FederatedIdentity.objects.filter(tenant=request.tenant, user=user, pk=identity_id).first()
    if not identity:
        return error_response(request, 404)
    unlink_identity(identity, actor=user_ref(request.user), request=request)
    messages.success(request, f"External identity unlinked from {user.username}.")
    return _back(request, user)


@require_POST
@tenant_admin_required
def user_consent_revoke(request, sub, consent_id):
    user = _user(request, sub)
    consent = (
        user
        and Consent.objects.filter(tenant=request.tenant, user=user, pk=consent_id).select_related("client").first()
    )
    if not consent:
        return error_response(request, 404)
    name = consent.client.name or consent.client.client_id
    revoke_consent(consent, actor=user_ref(request.user), request=request)
    messages.success(request, f"Consent for {name} revoked, with its tokens.")
    return _back(request, user)


@require_POST
@tenant_admin_required
def user_tokens_revoke(request, sub, client_id):
    user = _user(request, sub)
    client = user and Client.objects.filter(tenant=request.tenant, client_id=client_id).first()
    if not client:
        return error_response(request, 404)
    revoked = revoke_user_tokens(user, client, actor=user_ref(request.user), request=request)
    messages.success(request, f"{revoked} token{'s' * (revoked != 1)} of {client.name or client.client_id} revoked.")
    return _back(request, user)
