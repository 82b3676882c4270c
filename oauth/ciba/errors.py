"""The error codes CIBA Core §13 adds to OAuth's (RFC 6749 §5.2), as oauthlib errors so the
endpoints answer them in the one JSON error format."""

from oauthlib.oauth2.rfc6749.errors import OAuth2Error


class UnknownUserIdError(OAuth2Error):
    error = "unknown_user_id"
    description = "No user of this organization matches the hint."


class ExpiredLoginHintTokenError(OAuth2Error):
    error = "expired_login_hint_token"
    description = "The login_hint_token has expired."


class InvalidBindingMessageError(OAuth2Error):
    error = "invalid_binding_message"
    description = "The binding_message is too long or contains characters that cannot be shown."


class BackchannelAccessDenied(OAuth2Error):
    error = "access_denied"
    status_code = 403  # CIBA Core §13
