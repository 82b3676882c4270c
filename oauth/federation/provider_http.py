"""HTTP calls to an external provider (discovery, token, userinfo, GitHub's user API), all through
the outbound policy (lumoauth/outbound.py): SSRF filter, timeouts, a cap on the bytes read."""

import base64
import json
from urllib.parse import quote, urlencode, urlsplit

from lumoauth import outbound

TIMEOUT = 10
MAX_RESPONSE_BYTES = 256 * 1024
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable. `reason` is a short code
    for the audit log; str() is a sentence for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def is_secure_endpoint(url: str) -> bool:
    """https, or http on a loopback host (a provider on this machine, e.g. in development).
    OIDC Core §3.1.2.1 / RFC 6749 §3.1: the endpoints MUST use TLS."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


def _decode(response: outbound.OutboundResponse, what: str):
    if response.truncated:
        raise ProviderError(f"{what}_too_large", f"The provider's {what} response is too large.")
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderError(f"{what}_not_json", f"The provider's {what} response is not JSON.") from exc


def _decode_json(response: outbound.OutboundResponse, what: str) -> dict:
    document = _decode(response, what)
    if not isinstance(document, dict):
        raise ProviderError(f"{what}_not_json", f"The provider's {what} response is not a JSON object.")
    return document


def _fetch(url: str, what: str, **kwargs) -> outbound.OutboundResponse:
    try:
        return outbound.fetch(url, timeout=TIMEOUT, max_bytes=MAX_RESPONSE_BYTES, **kwargs)
    except outbound.OutboundRefused as exc:
        raise ProviderError(f"{what}_refused", f"The provider's {what} address is not allowed: {exc}") from exc
    except outbound.OutboundError as exc:
        raise ProviderError(
            f"{what}_unreachable", f"The provider's {what} endpoint could not be reached: {exc}."
        ) from exc


def get_json_value(url: str, what: str, *, bearer: str | None = None, accept: str = "application/json"):
    """GET a JSON document (any JSON value) with HTTP 200."""
    headers = {"Accept": accept}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"  # RFC 6750 §2.1
    # A bearer token is never sent on to wherever a redirect points.
    response = _fetch(url, what, headers=headers, follow_redirects=0 if bearer else 3)
    if response.status_code != 200:
        raise ProviderError(
            f"{what}_http_{response.status_code}",
            f"The provider's {what} endpoint answered HTTP {response.status_code}.",
        )
    return _decode(response, what)


def get_json(url: str, what: str, *, bearer: str | None = None, accept: str = "application/json") -> dict:
    document = get_json_value(url, what, bearer=bearer, accept=accept)
    if not isinstance(document, dict):
        raise ProviderError(f"{what}_not_json", f"The provider's {what} response is not a JSON object.")
    return document


def client_secret_basic(client_id: str, client_secret: str) -> str:
    """RFC 6749 §2.3.1: both are form-urlencoded before they are joined and base64-encoded."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def token_request(url: str, form: dict, *, client_id: str, client_secret: str, auth_method: str) -> dict:
    """POST to the token endpoint (RFC 6749 §4.1.3); the JSON answer, or ProviderError with the
    provider's `error` code (RFC 6749 §5.2) as the reason."""
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    form = dict(form)
    if auth_method == "client_secret_post":
        form.update(client_id=client_id, client_secret=client_secret)
    else:
        headers["Authorization"] = client_secret_basic(client_id, client_secret)
    response = _fetch(url, "token", method="POST", data=urlencode(form).encode(), headers=headers)
    try:
        document = _decode_json(response, "token")
    except ProviderError:
        if response.status_code != 200:
            raise ProviderError(
                f"token_http_{response.status_code}",
                f"The provider's token endpoint answered HTTP {response.status_code}.",
            ) from None
        raise
    # GitHub answers errors with HTTP 200 and an `error` member: look at the body, not only the status.
    if response.status_code != 200 or "error" in document:
        code = str(document.get("error") or f"http_{response.status_code}")[:64]
        raise ProviderError(f"token_error:{code}", "The provider refused to complete the sign-in.")
    return document
