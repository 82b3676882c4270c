"""Token, introspection, revocation and userinfo endpoints: thin wrappers over oauthlib via DOT."""

import base64
import json
from urllib.parse import unquote_plus

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views import RevokeTokenView as DOTRevokeTokenView
from oauth2_provider.views import UserInfoView as DOTUserInfoView
from oauth2_provider.views.mixins import OAuthLibMixin

from lumoauth.events.api import ANONYMOUS, Outcome, Ref, record

from ..issuer import issuer_for


def _response(body, status, headers) -> HttpResponse:
    response = HttpResponse(body or "", status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    # RFC 6749 §5.1: responses with tokens or credentials are never cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _caller(request) -> Ref:
    """The client the request says it comes from (Basic or body), as the audit actor."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    client_id = ""
    if scheme.lower() == "basic":
        try:
            client_id = unquote_plus(base64.b64decode(value.strip()).decode("utf-8").partition(":")[0])
        except (ValueError, UnicodeDecodeError):
            client_id = ""
    client_id = (client_id or request.POST.get("client_id", ""))[:100]
    return Ref("client", client_id, client_id) if client_id else ANONYMOUS


def _audit_failure(request, action: str, response: HttpResponse) -> None:
    """Failed token, introspection and revocation calls are security-relevant: keep a record."""
    if response.status_code < 400:
        return
    try:
        error = json.loads(response.content or b"{}").get("error", "")
    except ValueError:
        error = ""
    record(
        action,
        request=request,
        outcome=Outcome.FAILURE,
        actor=_caller(request),
        details={
            "error": error,
            "status": response.status_code,
            "grant_type": request.POST.get("grant_type", "")[:100],
        },
    )


def _client_auth_challenge(request, response: HttpResponse) -> HttpResponse:
    """RFC 6749 §5.2: invalid_client is 401, with a WWW-Authenticate naming the scheme the
    client used (Basic); a challenge for Bearer makes no sense at these endpoints."""
    if response.status_code == 401:
        if request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("basic"):
            response["WWW-Authenticate"] = f'Basic realm="{issuer_for(request.tenant, request)}"'
        elif "WWW-Authenticate" in response:
            del response["WWW-Authenticate"]
    return response


@method_decorator(
    [
        csrf_exempt,
        sensitive_post_parameters(
            "client_secret",
            "client_assertion",
            "code",
            "refresh_token",
            "code_verifier",
            "device_code",
            "subject_token",
            "actor_token",
        ),
    ],
    name="dispatch",
)
class TokenView(OAuthLibMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        _url, headers, body, status = self.create_token_response(request)
        response = _client_auth_challenge(request, _response(body, status, headers))
        _audit_failure(request, "oauth.token.failed", response)  # successes: oauth.token.issued
        return response


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(OAuthLibMixin, View):
    """RFC 7662. Only authenticated clients of this tenant may ask; unknown, expired, revoked and
    foreign tokens are all simply {"active": false}."""

    http_method_names = ["post"]

    def post(self, request):
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        headers, body, status = core.server.create_introspect_response(uri, http_method, body, headers)
        response = _client_auth_challenge(request, _response(body, status, headers))
        if response.status_code == 200:
            record(
                "oauth.token.introspected",
                request=request,
                actor=_caller(request),
                details={"active": json.loads(response.content).get("active") is True},
            )
        else:
            _audit_failure(request, "oauth.introspection.failed", response)
        return response


class RevokeView(DOTRevokeTokenView):
    """RFC 7009 through DOT; the validator scopes the token to this tenant and client."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        response = _client_auth_challenge(request, super().post(request, *args, **kwargs))
        _audit_failure(request, "oauth.revocation.failed", response)  # successes: oauth.token.revoked
        return response


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(DOTUserInfoView):
    """OIDC Core §5.3, GET and POST with a bearer access token of this tenant."""

    http_method_names = ["get", "post"]

    def _create_userinfo_response(self, request):
        response = super()._create_userinfo_response(request)
        response["Cache-Control"] = "no-store"
        if response.content:
            response["Content-Type"] = "application/json"
        ok = response.status_code == 200
        record(
            "oauth.userinfo.read" if ok else "oauth.userinfo.failed",
            request=request,
            actor=ANONYMOUS,
            outcome=Outcome.SUCCESS if ok else Outcome.FAILURE,
            details={"status": response.status_code, "sub": json.loads(response.content).get("sub") if ok else None},
        )
        return response
