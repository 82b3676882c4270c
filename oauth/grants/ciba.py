"""The CIBA grant at the token endpoint (CIBA Core §10.1, §11): `auth_req_id` for tokens, once the
user approved. Poll and ping clients alike fetch here; the status the validator reports
(oauth/ciba/authentications.poll) becomes authorization_pending, slow_down, expired_token,
access_denied or invalid_grant. The response is OIDC's: an ID token (CIBA requests always carry
`openid`), and a refresh token under the same rules as the authorization code flow.
"""

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase
from oauthlib.oauth2.rfc8628 import errors as pending_errors

from .device_code import IssuesAfterDecision
from .params import refuse_duplicates

SINGLE_VALUED = ("grant_type", "auth_req_id")
STATUS_ERRORS = {
    error.error: error
    for error in (
        pending_errors.AuthorizationPendingError,
        pending_errors.SlowDownError,
        pending_errors.ExpiredTokenError,
        pending_errors.AccessDenied,
    )
}


class CIBAGrant(IssuesAfterDecision, GrantTypeBase):
    def validate_token_request(self, request) -> None:
        refuse_duplicates(self.request_validator, request, SINGLE_VALUED)
        self.validate_client_authentication(request)
        self.validate_grant_type(request)
        auth_req_id = getattr(request, "auth_req_id", None)
        if not auth_req_id:
            raise errors.InvalidRequestError(description="Missing auth_req_id.", request=request)
        status = self.request_validator.validate_auth_req_id(auth_req_id, request)
        if status in STATUS_ERRORS:
            raise STATUS_ERRORS[status](request=request)
        if status != "authorized":
            raise errors.InvalidGrantError(request=request)
