"""Error responses: JSON for API clients, a readable page for people. Never a stack trace."""

import re

from django.http import HttpResponse, JsonResponse
from django.template import loader

# API surfaces under a tenant: OAuth/OIDC (api/v1) and SCIM answer in JSON.
_API_PATH = re.compile(r"^/(?:(?:t|orgs)/[^/]+/(?:api|scim)/|\.well-known/)")

_TITLES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Forbidden", "You are not allowed to do that."),
    404: ("Not found", "There is nothing here."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    429: ("Too many attempts", "Please wait a little before trying again."),
    500: ("Something went wrong", "The error has been logged. Please try again later."),
}
_OAUTH_ERRORS = {
    400: "invalid_request",
    403: "access_denied",
    404: "not_found",
    405: "invalid_request",
    429: "rate_limited",
    500: "server_error",
}


def wants_json(request) -> bool:
    if _API_PATH.match(request.path_info):
        return True
    accept = request.META.get("HTTP_ACCEPT", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request, status: int, message: str | None = None, *, headers: dict | None = None):
    title, default_message = _TITLES.get(status, _TITLES[400])
    message = message or default_message
    if wants_json(request):
        response = JsonResponse(
            {"error": _OAUTH_ERRORS.get(status, "invalid_request"), "error_description": message}, status=status
        )
    else:
        try:
            body = loader.render_to_string(
                "errors/error.html", {"status": status, "title": title, "message": message}, request=None
            )
        except Exception:  # the error page itself must never fail
            body = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{message}</p>"
        response = HttpResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def bad_request(request, exception=None):
    return error_response(request, 400)


def permission_denied(request, exception=None):
    return error_response(request, 403)


def page_not_found(request, exception=None):
    return error_response(request, 404)


def server_error(request):
    return error_response(request, 500)


def csrf_failure(request, reason=""):
    return error_response(
        request, 403, "Your form expired or was sent from another site. Go back, reload the page and try again."
    )
