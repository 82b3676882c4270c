"""OAuth clients of the tenant: list, register, edit, rotate the secret, delete (services of the oauth app)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from lumoauth.errors import error_response
from lumoauth.events.api import user_ref
from oauth.models import AuthMethod, BackchannelDeliveryMode, Client, GrantType, TokenExchangePolicy, TokenFormat
from oauth.services.clients import ClientSpec, create_client, delete_client, rotate_client_secret, update_client
from tenants.policy import tenant_policy
from tenants.routing import tenant_url

from ..access import tenant_admin_required
from ..forms import add_service_errors


class ClientForm(forms.Form):
    name = forms.CharField(max_length=255)
    client_type = forms.ChoiceField(choices=Client.CLIENT_TYPES, initial=Client.CLIENT_CONFIDENTIAL)
    grant_types = forms.MultipleChoiceField(
        choices=GrantType.choices, widget=forms.CheckboxSelectMultiple, initial=[GrantType.AUTHORIZATION_CODE]
    )
    token_endpoint_auth_method = forms.ChoiceField(
        label="Client authentication", choices=AuthMethod.choices, initial=AuthMethod.CLIENT_SECRET_BASIC
    )
    redirect_uris = forms.CharField(
        label="Redirect URIs (one per line)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    post_logout_redirect_uris = forms.CharField(
        label="Post-logout redirect URIs (one per line)", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    token_format = forms.ChoiceField(label="Access token format", choices=TokenFormat.choices, initial=TokenFormat.JWT)
    access_token_lifetime = forms.IntegerField(
        label="Access token lifetime (seconds)", initial=3600, min_value=60, max_value=86400
    )
    refresh_token_lifetime = forms.IntegerField(
        label="Refresh token lifetime (seconds)", initial=30 * 86400, min_value=60, max_value=366 * 86400
    )
    allowed_scopes = forms.CharField(label="Allowed scopes (space-separated; empty: all)", required=False)
    skip_consent = forms.BooleanField(label="First-party: skip the consent page", required=False)
    require_pushed_authorization_requests = forms.BooleanField(
        label="Require pushed authorization requests (PAR, RFC 9126)", required=False
    )
    token_exchange_policy = forms.ChoiceField(
        label="Token exchange (RFC 8693)",
        choices=TokenExchangePolicy.choices,
        initial=TokenExchangePolicy.NONE,
        required=False,
    )
    token_exchange_audiences = forms.CharField(
        label="Token exchange audiences (one per line)", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    backchannel_token_delivery_mode = forms.ChoiceField(
        label="CIBA delivery mode",
        choices=BackchannelDeliveryMode.choices,
        initial=BackchannelDeliveryMode.POLL,
        required=False,
    )
    backchannel_client_notification_endpoint = forms.CharField(
        label="CIBA client notification endpoint (ping mode)", max_length=2048, required=False
    )

    def __init__(self, *args, tenant=None, **kwargs):
        super().__init__(*args, **kwargs)
        if tenant is not None:  # new clients start from the tenant's default lifetimes
            policy = tenant_policy(tenant)
            self.fields["access_token_lifetime"].initial = policy.access_token_lifetime
            self.fields["refresh_token_lifetime"].initial = policy.refresh_token_lifetime

    @classmethod
    def initial_for(cls, client: Client) -> dict:
        return {
            "name": client.name,
            "client_type": client.client_type,
            "grant_types": client.grant_types,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "redirect_uris": "\n".join(client.redirect_uris.split()),
            "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris.split()),
            "token_format": client.token_format,
            "access_token_lifetime": client.access_token_lifetime,
            "refresh_token_lifetime": client.refresh_token_lifetime,
            "allowed_scopes": client.allowed_scopes,
            "skip_consent": client.skip_authorization,
            "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
            "token_exchange_policy": client.token_exchange_policy,
            "token_exchange_audiences": "\n".join(client.token_exchange_audiences.split()),
            "backchannel_token_delivery_mode": client.backchannel_token_delivery_mode or BackchannelDeliveryMode.POLL,
            "backchannel_client_notification_endpoint": client.backchannel_client_notification_endpoint,
        }

    def spec(self) -> ClientSpec:
        data = self.cleaned_data
        return ClientSpec(
            name=data["name"],
            client_type=data["client_type"],
            grant_types=list(data["grant_types"]),
            redirect_uris=data["redirect_uris"].split(),
            post_logout_redirect_uris=data["post_logout_redirect_uris"].split(),
            token_endpoint_auth_method=data["token_endpoint_auth_method"],
            token_format=data["token_format"],
            access_token_lifetime=data["access_token_lifetime"],
            refresh_token_lifetime=data["refresh_token_lifetime"],
            allowed_scopes=data["allowed_scopes"],
            skip_consent=data["skip_consent"],
            require_pushed_authorization_requests=data["require_pushed_authorization_requests"],
            token_exchange_policy=data["token_exchange_policy"] or TokenExchangePolicy.NONE,
            token_exchange_audiences=data["token_exchange_audiences"].split(),
            # The mode only means something for CIBA clients (poll unless chosen otherwise).
            backchannel_token_delivery_mode=(
                (data["backchannel_token_delivery_mode"] or BackchannelDeliveryMode.POLL)
                if GrantType.CIBA in data["grant_types"]
                else ""
            ),
            backchannel_client_notification_endpoint=data["backchannel_client_notification_endpoint"].strip(),
        )

    def spec_for(self, client: Client) -> ClientSpec:
        """The spec of an edit: what the form does not show (keys, origins) stays as it is."""
        spec = self.spec()
        spec.jwks, spec.jwks_uri = client.jwks, client.jwks_uri
        spec.allowed_origins = client.allowed_origins.split()
        return spec


def _client(request, client_id):
    return Client.objects.filter(tenant=request.tenant, client_id=client_id).first()


def _secret_page(request, client, secret):
    # The secret is shown this once; the page is never cached.
    response = render(request, "portal/client_secret.html", {"client": client, "secret": secret, "section": "clients"})
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def client_list(request):
    form = ClientForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            client, secret = create_client(request.tenant, form.spec(), actor=user_ref(request.user), request=request)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _secret_page(request, client, secret)
    clients = Client.objects.filter(tenant=request.tenant).order_by("name")
    return render(
        request,
        "portal/clients.html",
        {"clients": clients, "form": form, "section": "clients"},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@tenant_admin_required
def client_edit(request, client_id):
    client = _client(request, client_id)
    if client is None:
        return error_response(request, 404)
    form = ClientForm(request.POST or None, initial=ClientForm.initial_for(client))
    if request.method == "POST" and form.is_valid():
        try:
            update_client(client, form.spec_for(client), actor=user_ref(request.user), request=request)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Client {client.name} saved.")
            return HttpResponseRedirect(tenant_url(request, "portal-clients"))
    return render(
        request,
        "portal/client_edit.html",
        {"client": client, "form": form, "section": "clients"},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@tenant_admin_required
def client_rotate_secret(request, client_id):
    client = _client(request, client_id)
    if client is None:
        return error_response(request, 404)
    try:
        secret = rotate_client_secret(client, actor=user_ref(request.user), request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(tenant_url(request, "portal-clients"))
    return _secret_page(request, client, secret)


@require_POST
@tenant_admin_required
def client_delete(request, client_id):
    client = _client(request, client_id)
    if client is None:
        return error_response(request, 404)
    name = client.name or client.client_id
    delete_client(client, actor=user_ref(request.user), request=request)
    messages.success(request, f"Client {name} deleted.")
    return HttpResponseRedirect(tenant_url(request, "portal-clients"))
