"""Signing in to the tenant through an external OpenID Provider: the authorization code flow with
PKCE, `state` and `nonce` (OpenID Connect Core 1.0 §3.1, RFC 7636, RFC 9700 §2.1.1).

`start` remembers what it sent in the browser's session and returns the provider URL; `authenticate`
checks the provider's answer (state, RFC 9207 iss, error, code exchange, ID token, userinfo) and
returns who signed in, without writing anything; `complete` provisions or links the account and
signs the browser in, all in one transaction, so a refused sign-in leaves nothing half-created.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.urls import reverse

from lumoauth.events.api import record, user_ref
from lumoauth.urls_public import public_url
from tenants.federation import ExternalIdentity, ProvisioningError, sign_in_externally
from tenants.models import User
from tenants.signin import reauthentication, session

from . import client_secret
from .github import github_claims
from .id_token import Expected, IDTokenError, validate_id_token
from .models import OIDCConnection, Preset
from .provider_http import ProviderError, get_json, token_request
from .provider_keys import key_set
from .user_claims import external_identity

PENDING_KEY = "_lumoauth_oidc_pending"
MAX_PENDING = 5  # sign-ins started in other tabs; the oldest is forgotten first
PENDING_MAX_AGE = 600  # seconds the person has at the provider
MAX_PARAMETER = 2048
# Claims that only the ID token may state; the userinfo response adds profile claims, nothing else.
ID_TOKEN_ONLY = {"iss", "aud", "azp", "exp", "iat", "nbf", "nonce", "sub", "auth_time", "acr", "amr", "tid", "at_hash"}
AMR = ["fed"]


class FederationError(Exception):
    """The sign-in cannot be completed. `reason` is a short code for the audit log; str() is for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Authenticated:
    identity: ExternalIdentity
    next_url: str | None


def redirect_uri(request, connection: OIDCConnection) -> str:
    """The callback to register at the provider. Always under /t/<slug>/ (never the /orgs/ alias), so
    it is the same URI whichever prefix the sign-in started on."""
    path = reverse(
        "tenant:federation-oidc-callback", kwargs={"tenant_slug": connection.tenant.slug, "slug": connection.slug}
    )
    return public_url(path, request)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()  # RFC 7636 §4.2
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def start(request, connection: OIDCConnection, *, next_url: str | None, login_hint: str = "") -> str:
    """The provider's authorization URL for this browser; what it needs later stays in the session."""
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters of [A-Za-z0-9_-] (RFC 7636 §4.1)
    callback = redirect_uri(request, connection)
    params = {
        "response_type": "code",
        "client_id": connection.client_id,
        "redirect_uri": callback,
        "scope": connection.scopes,
        "state": state,
        "code_challenge": _s256(verifier),
        "code_challenge_method": "S256",
    }
    if connection.uses_id_token:
        params["nonce"] = nonce
        if login_hint:
            params["login_hint"] = login_hint[:254]  # OIDC Core §3.1.2.1
        if reauthentication.asked_in(request.tenant, next_url):
            params["prompt"] = "login"  # OIDC Core §3.1.2.1: the provider must authenticate again
    pending = dict(request.session.get(PENDING_KEY, {}))
    now = int(time.time())
    pending = {k: v for k, v in pending.items() if now - v.get("created", 0) <= PENDING_MAX_AGE}
    while len(pending) >= MAX_PENDING:
        pending.pop(next(iter(pending)))
    pending[state] = {
        "connection": connection.pk,
        "nonce": nonce,
        "verifier": verifier,
        "redirect_uri": callback,
        "next": next_url or "",
        "created": now,
    }
    request.session[PENDING_KEY] = pending
    return _with_query(connection.authorization_endpoint, params)


def _take_pending(request, state: str) -> dict | None:
    """The sign-in this state belongs to, removed from the session: a state works once."""
    pending = dict(request.session.get(PENDING_KEY, {}))
    entry = pending.pop(state, None) if state else None
    if entry is not None:
        request.session[PENDING_KEY] = pending
    if entry is None or int(time.time()) - entry.get("created", 0) > PENDING_MAX_AGE:
        return None
    return entry


def _parameter(params, name: str) -> str:
    value = params.get(name, "")
    return value if isinstance(value, str) and len(value) <= MAX_PARAMETER else ""


def _expected_iss(connection: OIDCConnection, params) -> None:
    """RFC 9207 §2.4: when the provider sends `iss` (or says it always does), it MUST be its issuer;
    this stops a mix-up between providers. A template issuer (Entra ID common) cannot be compared."""
    iss = params.get("iss")
    if connection.issuer_is_template:
        return
    if iss is None:
        if connection.authorization_response_iss:
            raise FederationError("iss_missing", "The identity provider's answer could not be verified.")
        return
    if iss != connection.issuer:
        raise FederationError("iss_mismatch", "The answer came from another identity provider than the one asked.")


def _exchange_code(connection: OIDCConnection, code: str, entry: dict) -> dict:
    try:
        secret = client_secret.unseal(connection)
    except client_secret.SecretUnavailable as exc:
        raise FederationError("client_secret_unavailable", "This sign-in option is misconfigured.") from exc
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": entry["redirect_uri"],
        "code_verifier": entry["verifier"],
    }
    try:
        tokens = token_request(
            connection.token_endpoint,
            form,
            client_id=connection.client_id,
            client_secret=secret,
            auth_method=connection.token_endpoint_auth_method,
        )
    except ProviderError as exc:
        raise FederationError(exc.reason, "The identity provider did not complete the sign-in.") from exc
    access_token = tokens.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise FederationError("token_response_invalid", "The identity provider did not complete the sign-in.")
    return tokens


def _openid_claims(connection: OIDCConnection, tokens: dict, nonce: str) -> tuple[str, dict]:
    expected = Expected(
        issuer=connection.issuer,
        client_id=connection.client_id,
        nonce=nonce,
        algorithms=list(connection.id_token_algorithms),
        allowed_tenant_ids=list(connection.allowed_tenant_ids),
    )
    try:
        claims = validate_id_token(
            tokens.get("id_token", ""), expected, lambda refresh: key_set(connection.jwks_uri, refresh=refresh)
        )
    except IDTokenError as exc:
        raise FederationError(exc.reason, str(exc)) from exc
    if connection.use_userinfo and connection.userinfo_endpoint:
        try:
            userinfo = get_json(connection.userinfo_endpoint, "userinfo", bearer=tokens["access_token"])
        except ProviderError as exc:
            raise FederationError(exc.reason, "The identity provider did not say who you are.") from exc
        # OIDC Core §5.3.2: the sub in the userinfo response MUST match the ID token's; else ignore it.
        if userinfo.get("sub") != claims["sub"]:
            raise FederationError("userinfo_subject_mismatch", "The identity provider's answer could not be verified.")
        claims = {**claims, **{k: v for k, v in userinfo.items() if k not in ID_TOKEN_ONLY}}
    return claims["sub"], claims


def authenticate(request, connection: OIDCConnection, params) -> Authenticated:
    """Check the provider's answer at the callback (OIDC Core §3.1.2.5-7, §3.1.3) and say who signed in."""
    entry = _take_pending(request, _parameter(params, "state"))
    if entry is None:
        # Unknown, already used, expired, or started in another browser: never accepted (RFC 6749 §10.12).
        raise FederationError("invalid_state", "This sign-in has expired or was already used. Please start again.")
    if entry["connection"] != connection.pk:
        raise FederationError(
            "connection_mismatch", "The answer came from another identity provider than the one asked."
        )
    _expected_iss(connection, params)
    if params.get("error"):
        code = _parameter(params, "error")[:64] or "invalid"
        message = (
            "The sign-in was cancelled." if code == "access_denied" else "The identity provider refused the sign-in."
        )
        raise FederationError(f"provider_error:{code}", message)
    code = _parameter(params, "code")
    if not code:
        raise FederationError("code_missing", "The identity provider's answer could not be verified.")
    tokens = _exchange_code(connection, code, entry)
    if connection.preset == Preset.GITHUB:
        try:
            subject, claims = github_claims(connection.userinfo_endpoint, tokens["access_token"])
        except ProviderError as exc:
            raise FederationError(exc.reason, "GitHub did not say who you are.") from exc
    else:
        subject, claims = _openid_claims(connection, tokens, entry["nonce"])
    return Authenticated(identity=external_identity(connection, subject, claims), next_url=entry["next"] or None)


def complete(request, connection: OIDCConnection, authenticated: Authenticated) -> User:
    """Provision or link the account and sign the browser in to the tenant, in one transaction."""
    tenant = connection.tenant
    try:
        with transaction.atomic():
            user = sign_in_externally(
                tenant, authenticated.identity, link_verified_email=connection.link_verified_email, request=request
            )
            session.sign_in(request, tenant, user, amr=AMR)
            record(
                "login.succeeded",
                tenant=tenant,
                request=request,
                actor=user_ref(user),
                target=user_ref(user),
                details={"method": "oidc", "connection": connection.slug},
            )
    except ProvisioningError as exc:
        raise FederationError("provisioning_refused", str(exc)) from exc
    return user
