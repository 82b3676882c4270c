"""Client authentication at the endpoints we serve beside oauthlib's token endpoint: pushed
authorization requests (RFC 9126 §2.1) and device authorization (RFC 8628 §3.1). Both apply the
token endpoint's rules (RFC 6749 §2.3, §3.2.1): each client authenticates by its registered
method, and public clients (method `none`) identify themselves with `client_id`."""

from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors

from ..grants.params import refuse_repeated
from ..models import Client

FORM = "application/x-www-form-urlencoded"


def oauthlib_request(core, django_request) -> Request:
    """The oauthlib request for a form POST, with the tenant and issuer in its headers."""
    uri, http_method, body, headers = core._extract_params(django_request)
    return Request(uri, http_method, body, headers)


def authenticate(core, django_request) -> tuple[Client, Request]:
    """The authenticated client and the oauthlib request; raises an oauthlib OAuth2Error."""
    if django_request.content_type != FORM:
        raise errors.InvalidRequestError(description=f"Send the parameters as {FORM}.")
    refuse_repeated(django_request.POST, ["client_id"])
    request = oauthlib_request(core, django_request)
    validator = core.server.request_validator
    if validator.client_authentication_required(request):
        if not validator.authenticate_client(request):
            raise errors.InvalidClientError(request=request)
    elif not validator.authenticate_client_id(request.client_id, request):
        raise errors.InvalidClientError(request=request)
    client = validator._load_application(request.client_id, request)
    if client is None:
        raise errors.InvalidClientError(request=request)
    return client, request
