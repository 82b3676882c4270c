"""Pushed authorization requests (RFC 9126): a client posts its authorization request to the PAR
endpoint and sends the browser to the authorization endpoint with only `client_id` and the
`request_uri` it got back.

The reference is random (256 bits) and stored only as its SHA-256. It is bound to the client that
pushed it (§4: the client_id of the authorization request must match), lives 60-600 seconds until
first used (§2.2), and is single-use (§4: "one-time use"): the first authorization request that
presents it claims it for that browser session, which may come back with it through sign-in and
consent for a few minutes; once that request has produced its response, or from any other browser,
the reference is refused.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauthlib.oauth2.rfc6749 import errors

from lumoauth.events.api import Ref, record

from .models import Client, PushedAuthorizationRequest
from .services.consents import client_ref
from .services.server_settings import requires_pushed_authorization_requests

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"  # RFC 9126 §2.2
MIN_LIFETIME, MAX_LIFETIME = 60, 600
# How long a browser that claimed a request_uri may take through sign-in and consent.
CLAIMED_SECONDS = 600
SESSION_KEY = "lumoauth_par_claims"
MAX_SESSION_CLAIMS = 10
# Client authentication is not part of the authorization request that is stored.
CLIENT_AUTH_PARAMS = {"client_secret", "client_assertion", "client_assertion_type"}
MAX_PARAMS, MAX_VALUE_LENGTH = 50, 4096


class RequestUriError(errors.OAuth2Error):
    """OIDC Core §3.1.2.6: the request_uri is unknown, expired, already used or another client's."""

    error = "invalid_request_uri"


class RequestNotSupported(errors.OAuth2Error):
    error = "request_not_supported"  # OIDC Core §3.1.2.6: request objects (JAR) are not offered


def lifetime() -> int:
    return max(MIN_LIFETIME, min(MAX_LIFETIME, settings.LUMOAUTH_PAR_LIFETIME))


def is_required(client: Client) -> bool:
    """RFC 9126 §5/§6: the tenant may require PAR of every client, or a client of itself."""
    return client.require_pushed_authorization_requests or requires_pushed_authorization_requests(client.tenant)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def authorization_parameters(pairs: list[tuple[str, str]], client: Client) -> dict[str, str]:
    """The authorization request in the pushed body: every parameter once (RFC 6749 §3.1), no
    `request_uri` (RFC 9126 §2.1), no request object, client_id filled in or matching."""
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in CLIENT_AUTH_PARAMS:
            continue
        if name in params:
            raise errors.InvalidRequestError(description=f"Duplicate {name} parameter.")
        if len(value) > MAX_VALUE_LENGTH:
            raise errors.InvalidRequestError(description=f"The {name} parameter is too long.")
        params[name] = value
    if len(params) > MAX_PARAMS:
        raise errors.InvalidRequestError(description="Too many parameters.")
    if "request_uri" in params:  # RFC 9126 §2.1: MUST NOT be provided
        raise errors.InvalidRequestError(description="request_uri cannot be pushed.")
    if "request" in params:
        raise RequestNotSupported(description="Request objects are not supported; push the parameters.")
    if params.setdefault("client_id", client.client_id) != client.client_id:
        raise errors.InvalidRequestError(description="client_id is not the authenticated client.")
    return params


@dataclass(frozen=True)
class PushedRequest:
    request_uri: str
    expires_in: int


@transaction.atomic
def push(client: Client, params: dict[str, str], *, actor: Ref | None = None, request=None) -> PushedRequest:
    """Store a validated authorization request; returns its request_uri (shown to the client only)."""
    now = timezone.now()
    seconds = lifetime()
    # Old references of this client are of no use to anyone: drop them as new ones come.
    PushedAuthorizationRequest.objects.filter(
        client=client, expires_at__lt=now - timedelta(seconds=CLAIMED_SECONDS + MAX_LIFETIME)
    ).delete()
    request_uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
    PushedAuthorizationRequest.objects.create(
        tenant=client.tenant,
        client=client,
        reference_hash=_digest(request_uri),
        parameters=params,
        expires_at=now + timedelta(seconds=seconds),
    )
    record(
        "oauth.par.pushed",
        tenant=client.tenant,
        actor=actor or client_ref(client),
        request=request,
        target=client_ref(client),
        details={"scope": params.get("scope", ""), "expires_in": seconds},
    )
    return PushedRequest(request_uri, seconds)


def claim(tenant, client_id: str, request_uri: str, session) -> PushedAuthorizationRequest:
    """The pushed request an authorization request refers to, claimed for this browser session."""
    if not client_id:
        raise RequestUriError(description="client_id is required with request_uri.")
    if not request_uri.startswith(REQUEST_URI_PREFIX) or len(request_uri) > 200:
        raise RequestUriError(description="Only request_uri values from the PAR endpoint are accepted.")
    pushed = (
        PushedAuthorizationRequest.objects.select_related("client")
        .filter(tenant=tenant, reference_hash=_digest(request_uri))
        .first()
    )
    # RFC 9126 §4: bound to the client that pushed it; another client's is as unknown as none.
    if pushed is None or pushed.client.client_id != client_id:
        raise RequestUriError(description="Unknown request_uri.")
    if pushed.completed_at is not None:
        raise RequestUriError(description="This request_uri was already used.")
    now = timezone.now()
    claims = dict(session.get(SESSION_KEY) or {})
    if pushed.claimed_at is None:
        if pushed.expires_at <= now:
            raise RequestUriError(description="This request_uri has expired.")
        token = secrets.token_urlsafe(16)
        taken = PushedAuthorizationRequest.objects.filter(pk=pushed.pk, claimed_at__isnull=True).update(
            claimed_at=now, claim_hash=_digest(token)
        )
        if not taken:  # another browser claimed it a moment ago
            raise RequestUriError(description="This request_uri was already used.")
        while len(claims) >= MAX_SESSION_CLAIMS:
            claims.pop(next(iter(claims)))
        claims[pushed.reference_hash] = token
        session[SESSION_KEY] = claims
        pushed.claimed_at = now
        return pushed
    token = claims.get(pushed.reference_hash)
    if not token or not secrets.compare_digest(_digest(token), pushed.claim_hash):
        raise RequestUriError(description="This request_uri was already used.")
    if pushed.claimed_at + timedelta(seconds=CLAIMED_SECONDS) <= now:
        raise RequestUriError(description="This request_uri has expired.")
    return pushed


def complete(pushed: PushedAuthorizationRequest, session) -> None:
    """The authorization request answered (code or error): its request_uri is spent for good."""
    PushedAuthorizationRequest.objects.filter(pk=pushed.pk).update(completed_at=timezone.now())
    claims = dict(session.get(SESSION_KEY) or {})
    if claims.pop(pushed.reference_hash, None) is not None:
        session[SESSION_KEY] = claims
