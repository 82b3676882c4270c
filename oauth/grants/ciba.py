"""The CIBA grant at the token endpoint (CIBA Core §10.1, §11): `auth_req_id` for tokens, once the
user approved. Poll and ping clients alike fetch here; the status the validator reports
(oauth/ciba/authentications.poll) becomes authorization_pending, slow_down, expired_token,
access_denied or invalid_grant. The response is OIDC's: an ID token (CIBA requests always carry
`openid`), and a refresh token under the same rules as the authorization code flow.
"""

import json

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase
from oauthlib.oauth2.rfc8628 import errors as pending_errors

from .device_code import _IDTokens
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


class CIBAGrant(GrantTypeBase):
    def __init__(self, request_validator=None, **kwargs):
        super().__init__(request_validator, **kwargs)
        self._id_tokens = _IDTokens(self)

    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except errors.OAuth2Error as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        token = token_handler.create_token(request, refresh_token=self.refresh_token)
        token = self._id_tokens.add_id_token(token, token_handler, request)
        for modifier in self._token_modifiers:
            token = modifier(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

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
