"""The device authorization endpoint (RFC 8628 §3.1, §3.2): a device asks for a device code and a
user code; the person enters the user code at the tenant's /device page."""

from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors, utils

from lumoauth.urls_public import base_url

from ..device import authorizations
from ..grants import DEVICE_CODE
from ..grants.params import refuse_repeated
from ..server import endpoint_auth
from .client_calls import answer


def verification_uri(request) -> str:
    """The user-code page, always under the canonical /t/<slug>/ prefix (short enough to type)."""
    return base_url(request) + reverse("tenant:device", kwargs={"tenant_slug": request.tenant.slug})


@method_decorator([csrf_exempt, sensitive_post_parameters("client_secret", "client_assertion")], name="dispatch")
class DeviceAuthorizationView(OAuthLibMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        return answer(request, self.start, self.body, failed_action="oauth.device.authorization_failed")

    def body(self, started: authorizations.StartedAuthorization) -> dict:
        uri = verification_uri(self.request)
        return {
            "device_code": started.device_code,
            "user_code": started.user_code,
            "verification_uri": uri,
            "verification_uri_complete": f"{uri}?user_code={started.user_code}",
            "expires_in": started.expires_in,
            "interval": started.interval,
        }

    def start(self, request) -> authorizations.StartedAuthorization:
        core = self.get_oauthlib_core()
        client, oauthlib_request = endpoint_auth.authenticate(core, request)
        if DEVICE_CODE not in client.grant_types:
            raise errors.UnauthorizedClientError(description="This client may not use the device authorization grant.")
        refuse_repeated(request.POST, ["scope"])
        scopes = utils.scope_to_list(oauthlib_request.scope) or []
        validator = core.server.request_validator
        if not validator.validate_scopes(client.client_id, scopes, client, oauthlib_request):
            raise errors.InvalidScopeError()
        return authorizations.start(client, scopes, request=request)
