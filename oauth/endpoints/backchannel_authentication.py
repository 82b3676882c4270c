"""The backchannel authentication endpoint (CIBA Core §7): a confidential client asks to
authenticate a user it names by a hint; the answer is an auth_req_id to poll with (or to be pinged
about), and the user is notified to approve or deny on the tenant's page."""

from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors, utils

from lumoauth.urls_public import base_url

from ..ciba import authentications, hints
from ..grants import CIBA
from ..grants.params import refuse_repeated
from ..issuer import issuer_for
from ..server import endpoint_auth
from .client_calls import answer

SINGLE_VALUED = (
    "scope",
    "client_notification_token",
    "acr_values",
    "login_hint_token",
    "id_token_hint",
    "login_hint",
    "binding_message",
    "user_code",
    "requested_expiry",
)


def approval_url(request, authentication) -> str:
    path = reverse("tenant:ciba-approval", kwargs={"tenant_slug": request.tenant.slug, "uid": authentication.uid})
    return base_url(request) + path


@method_decorator(
    [csrf_exempt, sensitive_post_parameters("client_secret", "client_assertion", "client_notification_token")],
    name="dispatch",
)
class BackchannelAuthenticationView(OAuthLibMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        return answer(
            request,
            self.start,
            lambda started: {
                "auth_req_id": started.auth_req_id,
                "expires_in": started.expires_in,
                "interval": started.interval,
            },
            failed_action="oauth.ciba.request_failed",
        )

    def start(self, request) -> authentications.Started:
        core = self.get_oauthlib_core()
        client, oauthlib_request = endpoint_auth.authenticate(core, request)
        if CIBA not in client.grant_types:
            raise errors.UnauthorizedClientError(description="This client may not use CIBA.")
        params = request.POST
        refuse_repeated(params, SINGLE_VALUED)
        if params.get("request"):
            # Signed authentication requests (§7.1.1) are not offered: discovery lists no algorithm.
            raise errors.InvalidRequestError(description="Signed authentication requests are not supported.")
        scopes = utils.scope_to_list(params.get("scope", "")) or []
        if "openid" not in scopes:  # CIBA Core §7.1: "MUST contain the openid scope value"
            raise errors.InvalidRequestError(description="The scope must include openid.")
        validator = core.server.request_validator
        if not validator.validate_scopes(client.client_id, scopes, client, oauthlib_request):
            raise errors.InvalidScopeError()
        notification_token = authentications.check_notification_token(client, params.get("client_notification_token"))
        binding_message = authentications.check_binding_message(params.get("binding_message", ""))
        expires_in = authentications.lifetime(params.get("requested_expiry"))
        user = hints.identify_user(client, issuer_for(request.tenant, request), params)
        return authentications.start(
            client,
            user,
            scopes,
            binding_message=binding_message,
            expires_in=expires_in,
            notification_token=notification_token,
            approval_url=lambda authentication: approval_url(request, authentication),
            request=request,
        )
