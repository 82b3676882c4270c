"""The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): sign-in, consent, code.

A request may also refer to a pushed authorization request (RFC 9126 §4: `client_id` and
`request_uri`); its pushed parameters are then the request (oauth/pushed_requests.py).

Errors found before the client and its redirect URI are known to be valid are shown on a page and
never redirected (RFC 6749 §4.1.2.1); later errors go back to the client with `state` and `iss`.
"""

from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors

from lumoauth.events.api import Outcome, record, user_ref
from tenants.routing import tenant_url
from tenants.signin import reauthentication
from tenants.signin.session import authentication_info

from .. import authorization_request, pushed_requests
from .. import scopes as scope_catalogue
from ..issuer import issuer_for
from ..models import Client
from ..server.core import add_iss
from ..services.consents import client_ref, consent_covers, grant_consent


def _error_page(request, error, status=400):
    description = getattr(error, "description", "") or "The request is not valid."
    return render(request, "oauth/error.html", {"error": error.error, "description": description}, status=status)


@method_decorator([never_cache, csrf_protect], name="dispatch")
class AuthorizeView(OAuthLibMixin, View):
    http_method_names = ["get", "post"]

    def get(self, request):
        return self.authorize(request, decision=None)

    def post(self, request):
        # The consent form posts back to this same URL, query string included.
        decision = request.POST.get("decision")
        return self.authorize(request, decision=decision if decision in ("allow", "deny") else None)

    def authorize(self, request, decision):
        pushed = None
        if "request_uri" in request.GET:
            try:
                pushed = pushed_requests.claim(
                    request.tenant, request.GET.get("client_id", ""), request.GET["request_uri"], request.session
                )
            except pushed_requests.RequestUriError as error:
                return _error_page(request, error)
            request.lumo_authorization_params = pushed.parameters
        self.answered = True  # False while the browser is sent to sign in or shown the consent page
        response = self.answer(request, decision, pushed.parameters if pushed else request.GET, pushed)
        if pushed is not None and self.answered:
            pushed_requests.complete(pushed, request.session)
        return response

    def answer(self, request, decision, params, pushed):
        tenant = request.tenant
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except FatalClientError as error:
            return _error_page(request, error.oauthlib_error)
        except OAuthToolkitError as error:
            return self.redirect_error(request, error.oauthlib_error)
        client = Client.objects.get(tenant=tenant, client_id=credentials["client_id"])

        try:
            if pushed is None and pushed_requests.is_required(client):
                # RFC 9126 §5/§6: this client's (or tenant's) requests are only accepted pushed.
                raise errors.InvalidRequestError(description="This client must use pushed authorization requests.")
            prompt = authorization_request.prompt_values(params)
            max_age = authorization_request.max_age(params)
        except errors.OAuth2Error as error:
            error.redirect_uri, error.state = credentials["redirect_uri"], credentials.get("state")
            return self.redirect_error(request, error)

        user = request.user
        auth_info = authentication_info(request, tenant) if user.is_authenticated else None
        marker = request.GET.get(reauthentication.MARKER)
        if reauthentication.must_sign_in(tenant, user, auth_info, prompt, max_age, marker):
            if "none" in prompt:
                return self.redirect_error(request, self.client_error(errors.LoginRequired, credentials))
            self.answered = False
            return self.send_to_sign_in(request, params.get("login_hint"))

        needs_consent = not client.skip_authorization and (
            "consent" in prompt or not consent_covers(user, client, scopes)
        )
        if decision is None and needs_consent:
            if "none" in prompt:
                return self.redirect_error(request, self.client_error(errors.ConsentRequired, credentials))
            self.answered = False
            return render(
                request,
                "oauth/consent.html",
                {
                    "client": client,
                    "scopes": scope_catalogue.describe(tenant, scopes),
                    "account": user,
                },
            )

        allow = decision != "deny"
        if allow and decision == "allow":
            grant_consent(user, client, scopes, request=request)
        credentials["auth_time"] = auth_info["auth_time"]
        credentials["amr"] = auth_info["amr"]
        record(
            "oauth.authorization.granted" if allow else "oauth.authorization.denied",
            tenant=tenant,
            actor=user_ref(user),
            request=request,
            target=client_ref(client),
            outcome=Outcome.SUCCESS if allow else Outcome.DENIED,
            details={"scope": " ".join(scopes), "pushed": pushed is not None},
        )
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request, " ".join(scopes), credentials, allow
            )
        except OAuthToolkitError as error:  # access_denied, or a late validation error
            return self.redirect_error(request, error.oauthlib_error)
        return HttpResponseRedirect(uri)

    @staticmethod
    def client_error(error_class, credentials):
        error = error_class(state=credentials.get("state"))
        error.redirect_uri = credentials["redirect_uri"]
        return error

    def send_to_sign_in(self, request, login_hint=None):
        query = request.GET.copy()  # with PAR: client_id and request_uri, which this browser has claimed
        query[reauthentication.MARKER] = reauthentication.marker(request.tenant)
        back = f"{request.path}?{query.urlencode()}"
        params = {"next": back}
        if login_hint:
            params["login_hint"] = login_hint[:254]
        return HttpResponseRedirect(f"{tenant_url(request, 'login')}?{urlencode(params)}")

    def redirect_error(self, request, error):
        if not getattr(error, "redirect_uri", None):
            return _error_page(request, error)
        separator = "&" if "?" in error.redirect_uri else "?"
        location = add_iss(f"{error.redirect_uri}{separator}{error.urlencoded}", issuer_for(request.tenant, request))
        return HttpResponseRedirect(location)
