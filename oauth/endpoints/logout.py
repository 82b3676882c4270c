"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

The relying party sends the browser here with `id_token_hint`, `post_logout_redirect_uri`
(§2: it MUST exactly match one registered for the client), `client_id` and `state`. A signed-in
user confirms, the tenant session ends, and the browser goes back to the client with `state`.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from tenants.routing import tenant_url
from tenants.signin import logout_chains

from ..issuer import issuer_for
from ..models import Client
from ..tokens import signing

PARAMS = ("id_token_hint", "post_logout_redirect_uri", "client_id", "state", "ui_locales")


class LogoutRequestError(Exception):
    pass


def validate_logout_request(tenant, issuer: str, params: dict) -> tuple[Client | None, str | None]:
    """The client and the redirect URI to return to, or LogoutRequestError."""
    client = None
    hint = params.get("id_token_hint")
    if hint:
        claims = signing.verify(tenant, hint, check_expiry=False)  # §2: an expired hint is fine
        if claims is None or claims.get("iss") != issuer:
            raise LogoutRequestError("The id_token_hint was not issued by this organization.")
        audience = claims.get("aud")
        audience = [audience] if isinstance(audience, str) else list(audience or [])
        client = Client.objects.filter(tenant=tenant, client_id__in=audience[:5]).first()
        if client is None:
            raise LogoutRequestError("The id_token_hint names an unknown client.")
    client_id = params.get("client_id")
    if client_id:
        if client is not None and client.client_id != client_id:
            raise LogoutRequestError("client_id does not match the id_token_hint.")
        client = client or Client.objects.filter(tenant=tenant, client_id=client_id).first()
        if client is None:
            raise LogoutRequestError("Unknown client.")
    redirect_uri = params.get("post_logout_redirect_uri")
    if redirect_uri:
        if client is None:
            raise LogoutRequestError("post_logout_redirect_uri needs id_token_hint or client_id.")
        if redirect_uri not in client.post_logout_redirect_uris.split():
            raise LogoutRequestError("post_logout_redirect_uri is not registered for this client.")
    return client, redirect_uri


def _with_state(uri: str, state: str | None) -> str:
    if not state:
        return uri
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [("state", state)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@method_decorator([never_cache, csrf_protect], name="dispatch")
class LogoutView(View):
    http_method_names = ["get", "post"]

    def get(self, request):
        return self.handle(request, {k: request.GET.get(k) for k in PARAMS if request.GET.get(k)}, confirmed=False)

    def post(self, request):
        if request.POST.get("confirm") == "no":
            return HttpResponseRedirect(tenant_url(request, "account"))  # the user chose to stay
        params = {k: request.POST.get(k) for k in PARAMS if request.POST.get(k)}
        return self.handle(request, params, confirmed=request.POST.get("confirm") == "yes")

    def handle(self, request, params: dict, confirmed: bool):
        tenant = request.tenant
        try:
            client, redirect_uri = validate_logout_request(tenant, issuer_for(tenant, request), params)
        except LogoutRequestError as error:
            return render(
                request, "oauth/error.html", {"error": "invalid_request", "description": str(error)}, status=400
            )
        if request.user.is_authenticated and not confirmed:
            return render(request, "oauth/logout_confirm.html", {"client": client, "params": params})
        if request.user.is_authenticated:
            # The tenant's SAML service providers are signed out too (front channel), then on to the client
            # (or, without a post_logout_redirect_uri, to the sign-in page).
            return_to = _with_state(redirect_uri, params.get("state")) if redirect_uri else tenant_url(request, "login")
            chain = logout_chains.sign_out_everywhere(request, tenant, return_to)
            if chain is not None:
                return chain
        if redirect_uri:
            return HttpResponseRedirect(_with_state(redirect_uri, params.get("state")))
        return render(request, "oauth/logged_out.html", {"client": client})
