"""The django-oauth-toolkit backend that tells the validator which tenant it is serving."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauthlib import oauth2

from ..issuer import issuer_for

# Not HTTP headers a client could send: client headers arrive as HTTP_* keys of request.META.
TENANT_KEY = "Lumoauth-Tenant"
ISSUER_KEY = "Lumoauth-Issuer"
DJANGO_REQUEST_KEY = "Lumoauth-Django-Request"


class _Carried:
    """Holds an object through oauthlib, which turns iterable header values (an HttpRequest is one)
    into generators."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def carried(headers, key):
    holder = headers.get(key)
    return holder.value if isinstance(holder, _Carried) else None


def add_iss(uri: str, issuer: str) -> str:
    """RFC 9207 §2: every authorization response (success or error) names its issuer."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", issuer))
    return urlunsplit(parts._replace(query=urlencode(query)))


# Parameters a request may repeat: RFC 8707 resource (DOT keeps it), RFC 8693 audience.
REPEATABLE_PARAMS = {"resource", "audience"}


class TenantOAuthLibCore(OAuthLibCore):
    def _extract_params(self, request):
        uri, http_method, body, headers = super()._extract_params(request)
        pushed = getattr(request, "lumo_authorization_params", None)
        if pushed is not None:
            # RFC 9126 §4: with a request_uri, the pushed parameters are the authorization request;
            # whatever else the URL or a form post carries is not part of it.
            uri, body = f"{request.path}?{urlencode(pushed)}", ""
        return uri, http_method, body, headers

    def extract_body(self, request):
        return [
            (key, value)
            for key, values in request.POST.lists()
            for value in (values if key in REPEATABLE_PARAMS else values[-1:])
        ]

    def extract_headers(self, request):
        headers = super().extract_headers(request)
        tenant = getattr(request, "tenant", None)
        headers[TENANT_KEY] = tenant
        headers[ISSUER_KEY] = issuer_for(tenant, request) if tenant is not None else ""
        headers[DJANGO_REQUEST_KEY] = _Carried(request)
        return headers

    def create_authorization_response(self, request, scopes, credentials, allow):
        """DOT's, with the tenant's issuer as `iss` (DOT's own would be one global issuer)."""
        try:
            if not allow:
                raise oauth2.AccessDeniedError(state=credentials.get("state"))
            credentials["user"] = request.user
            uri, http_method, _, headers = self._extract_params(request)
            headers, body, status = self.server.create_authorization_response(
                uri=uri, http_method=http_method, headers=headers, scopes=scopes, credentials=credentials
            )
            location = headers.get("Location")
            if location is not None:
                headers["Location"] = location = add_iss(location, issuer_for(request.tenant, request))
            return location, headers, body, status
        except oauth2.FatalClientError as error:
            raise FatalClientError(error=error, redirect_uri=credentials["redirect_uri"]) from error
        except oauth2.OAuth2Error as error:
            raise OAuthToolkitError(error=error, redirect_uri=credentials["redirect_uri"]) from error
