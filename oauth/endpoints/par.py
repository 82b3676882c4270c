"""The pushed authorization request endpoint (RFC 9126 §2): the client authenticates as at the token
endpoint, its authorization request is validated as the authorization endpoint would, and it gets
back a single-use request_uri."""

from urllib.parse import urlencode

from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors

from .. import authorization_request, pushed_requests
from ..models import GrantType
from ..server import endpoint_auth
from .client_calls import answer


@method_decorator([csrf_exempt, sensitive_post_parameters("client_secret", "client_assertion")], name="dispatch")
class PushedAuthorizationRequestView(OAuthLibMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        return answer(
            request,
            self.push,
            lambda pushed: {"request_uri": pushed.request_uri, "expires_in": pushed.expires_in},
            failed_action="oauth.par.failed",
            status=201,
        )

    def push(self, request) -> pushed_requests.PushedRequest:
        core = self.get_oauthlib_core()
        client, oauthlib_request = endpoint_auth.authenticate(core, request)
        if GrantType.AUTHORIZATION_CODE not in client.grant_types:  # RFC 6749 §4.1.2.1
            raise errors.UnauthorizedClientError(description="This client does not use the authorization endpoint.")
        pairs = [(name, value) for name, values in request.POST.lists() for value in values]
        params = pushed_requests.authorization_parameters(pairs, client)
        # RFC 9126 §2.1: validated exactly as an authorization request would be.
        uri = f"{request.path}?{urlencode(params)}"
        try:
            core.server.validate_authorization_request(uri, http_method="GET", headers=oauthlib_request.headers)
        except errors.FatalClientError as error:  # invalid redirect_uri or client: never redirected, here JSON
            raise errors.InvalidRequestError(description=error.description or "Invalid redirect_uri.") from error
        authorization_request.prompt_values(params)
        authorization_request.max_age(params)
        return pushed_requests.push(client, params, request=request)
