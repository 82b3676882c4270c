"""Answers of the endpoints a client calls directly beside the token endpoint - pushed
authorization requests (RFC 9126), device authorization (RFC 8628 §3.1), backchannel
authentication (CIBA Core §7): JSON, never cached; errors in RFC 6749 §5.2 form and audited."""

import json

from django.http import JsonResponse
from oauthlib.oauth2.rfc6749 import errors

from .token import _audit_failure, _client_auth_challenge, _response


def oauth_error_response(request, error: errors.OAuth2Error):
    """RFC 6749 §5.2 JSON (invalid_client 401, with WWW-Authenticate for Basic)."""
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    status = 401 if error.error == "invalid_client" else (error.status_code if error.status_code >= 400 else 400)
    return _client_auth_challenge(request, _response(json.dumps(body), status, {}))


def answer(request, handle, body_of, *, failed_action: str, status: int = 200):
    """`handle(request)`'s result as `body_of(result)`, or its OAuth2Error as the error JSON with a
    `failed_action` audit event."""
    try:
        result = handle(request)
    except errors.OAuth2Error as error:
        response = oauth_error_response(request, error)
        _audit_failure(request, failed_action, response)
        return response
    response = JsonResponse(body_of(result), status=status)
    response["Cache-Control"] = "no-store"  # RFC 6749 §5.1; RFC 9126 §2.2; RFC 8628 §3.2; CIBA Core §7.3
    return response
