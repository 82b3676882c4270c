"""The device_code grant at the token endpoint (RFC 8628 §3.4, §3.5), on oauthlib's DeviceCodeGrant.

oauthlib maps the status the validator reports (oauth/device/authorizations.poll) to
authorization_pending, slow_down, expired_token and access_denied; this adds what oauthlib leaves
out for this grant: an ID token when `openid` was granted (OIDC Core §3.1.3.3 by analogy, as
other OpenID Providers do), and token modifiers.
"""

import json

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc8628.grant_types import DeviceCodeGrant as OAuthlibDeviceCodeGrant
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OpenIDGrantTypeBase


class _IDTokens(OpenIDGrantTypeBase):
    """oauthlib's OpenID Connect ID token step, around a grant that has none of its own."""

    def __init__(self, grant):
        self.proxy_target = grant


class IssuesAfterDecision:
    """Token issuing for grants that redeem what a user decided elsewhere (the device flow, CIBA):
    the access token, a refresh token when allowed, an ID token when `openid` was granted, modifiers."""

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


class DeviceCodeGrant(IssuesAfterDecision, OAuthlibDeviceCodeGrant):
    """oauthlib's validation of the device_code request, our issuing."""
