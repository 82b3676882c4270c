"""The tenant-aware OAuth2Validator: where protocol decisions meet storage.

django-oauth-toolkit's validator looks clients and tokens up by value alone; every override here
adds the tenant of the URL (carried in the oauthlib request's headers by TenantOAuthLibCore), so a
client, code or token of another tenant is unknown - the same answer as for one that never existed.
"""

import hashlib
import logging
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from lumoauth.events.api import Outcome, Ref, record

from .. import claims as oidc_claims
from ..client_lookup import find_client
from ..models import AccessToken, AuthMethod, Client, Grant, GrantType, IDToken, RefreshToken
from ..services.consents import client_ref
from ..tokens import signing
from . import client_auth
from .core import DJANGO_REQUEST_KEY, ISSUER_KEY, TENANT_KEY, carried
from .decided_grants import DecidedGrantsMixin

log = logging.getLogger(__name__)
ID_TOKEN_LIFETIME = 3600


def checksum(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TenantOAuth2Validator(DecidedGrantsMixin, OAuth2Validator):
    # ---- which tenant -------------------------------------------------------------------------
    @staticmethod
    def tenant(request):
        return request.headers[TENANT_KEY]

    @staticmethod
    def django_request(request):
        return carried(request.headers, DJANGO_REQUEST_KEY)

    def _endpoint(self, request) -> str | None:
        match = getattr(self.django_request(request), "resolver_match", None)
        return match.url_name if match else None

    def get_oidc_issuer_endpoint(self, request):
        return request.headers[ISSUER_KEY]

    # ---- clients ------------------------------------------------------------------------------
    def _load_application(self, client_id, request):
        tenant = self.tenant(request)
        cached = request.client
        if isinstance(cached, Client) and cached.client_id == client_id and cached.tenant_id == tenant.pk:
            return cached
        if not isinstance(client_id, str) or not client_id or "\x00" in client_id or len(client_id) > 100:
            return None
        client = find_client(tenant, client_id)
        request.client = client
        return client

    def authenticate_client(self, request, *args, **kwargs):
        """Client authentication by the one method the client registered (RFC 6749 §2.3,
        RFC 7523 §2.2 for private_key_jwt)."""
        return client_auth.authenticate(self, request)

    def authenticate_client_id(self, client_id, request, *args, **kwargs):
        # Only public clients may go without authentication (RFC 6749 §3.2.1).
        client = self._load_application(client_id, request)
        return client is not None and client.token_endpoint_auth_method == AuthMethod.NONE

    def client_authentication_required(self, request, *args, **kwargs):
        if client_auth.presented_credentials(self, request) or self._endpoint(request) == "introspect":
            return True  # RFC 7662 §2.1: introspection callers always authenticate
        client = self._load_application(request.client_id, request) if request.client_id else None
        return client is None or client.token_endpoint_auth_method != AuthMethod.NONE

    def validate_client_id(self, client_id, request, *args, **kwargs):
        return self._load_application(client_id, request) is not None

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        return grant_type in client.grant_types

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        if response_type != "code":  # hybrid and implicit flows are not offered (RFC 9700 §2.1.2)
            raise errors.UnsupportedResponseTypeError(request=request)
        return GrantType.AUTHORIZATION_CODE in client.grant_types

    def is_pkce_required(self, client_id, request):
        # RFC 9700 §2.1.1: public clients MUST use PKCE.
        client = request.client or self._load_application(client_id, request)
        return client is None or client.is_public

    # ---- authorization codes -------------------------------------------------------------------
    def _grant(self, code, request):
        return Grant.objects.filter(code=code, application=request.client, tenant=self.tenant(request)).first()

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        if request.code_challenge and request.code_challenge_method != "S256":
            raise errors.InvalidRequestError(
                description='Only the "S256" code_challenge_method is supported.', request=request
            )
        Grant.objects.create(
            tenant=self.tenant(request),
            application=request.client,
            user=request.user,
            code=code["code"],
            expires=timezone.now() + timedelta(seconds=600),  # RFC 6749 §4.1.2: 10 minutes at most
            redirect_uri=request.redirect_uri,
            scope=" ".join(request.scopes),
            code_challenge=request.code_challenge or "",
            code_challenge_method=request.code_challenge_method or "",
            nonce=request.nonce or "",
            claims="{}",
            auth_time=getattr(request, "auth_time", None),
            amr=getattr(request, "amr", None) or [],
        )

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = self._grant(code, request)
        if grant is None:
            return False
        # Claim the code atomically: it is single-use (RFC 6749 §4.1.2). A second presentation
        # fails and revokes every token the first one obtained (RFC 6749 §4.1.2, RFC 9700 §4.5).
        claimed = Grant.objects.filter(pk=grant.pk, used_at__isnull=True).update(used_at=timezone.now())
        if not claimed:
            self._revoke_tokens_of_replayed_code(grant, request)
            return False
        if grant.is_expired():
            return False
        request.scopes = grant.scope.split()
        request.user = grant.user
        request.grant = grant
        request.auth_time = grant.auth_time
        request.amr = grant.amr
        if grant.nonce:
            request.nonce = grant.nonce
        return grant.user.is_active

    def _revoke_tokens_of_replayed_code(self, grant, request):
        with transaction.atomic():
            for refresh in RefreshToken.objects.filter(grant=grant, revoked__isnull=True):
                RefreshToken.revoke_family(refresh.token_family)
            revoked = AccessToken.objects.filter(grant=grant).delete()[0]
            record(
                "oauth.code.replayed",
                tenant=grant.tenant,
                actor=client_ref(grant.application),
                request=self.django_request(request),
                outcome=Outcome.DENIED,
                target=Ref("user", str(grant.user_id), grant.user.username),
                details={"client_id": grant.application.client_id, "tokens_revoked": revoked},
            )

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """Nothing left to do: validate_code already marked the code used, atomically."""

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        grant = self._grant(code, request)
        # RFC 6749 §4.1.3: identical to the redirect_uri of the authorization request.
        return grant is not None and redirect_uri == grant.redirect_uri

    def get_code_challenge(self, code, request):
        grant = self._grant(code, request)
        return (grant.code_challenge or None) if grant else None

    def get_code_challenge_method(self, code, request):
        grant = self._grant(code, request)
        return (grant.code_challenge_method or None) if grant else None

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = Grant.objects.filter(code=code, tenant=self.tenant(request)).first()
        return grant.scope.split() if grant else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = Grant.objects.filter(code=code, tenant=self.tenant(request)).first()
        return (grant.nonce or None) if grant else None

    # ---- tokens -------------------------------------------------------------------------------
    def may_issue_refresh_token(self, request) -> bool:
        if GrantType.REFRESH_TOKEN not in request.client.grant_types:
            return False
        scopes = request.scopes or []
        return "openid" not in scopes or "offline_access" in scopes

    def save_bearer_token(self, token, request, *args, **kwargs):
        # The tokens and their audit event commit together (DOT's own version has its own atomic).
        with transaction.atomic():
            self._save_bearer_token(token, request, *args, **kwargs)
            user = request.user
            actor = Ref("user", str(user.pk), user.username) if user else client_ref(request.client)
            record(
                "oauth.token.issued",
                tenant=self.tenant(request),
                actor=actor,
                request=self.django_request(request),
                target=client_ref(request.client),
                details={
                    "grant_type": request.grant_type,
                    "scope": token.get("scope", ""),
                    "refresh_token": "refresh_token" in token,
                    "format": request.client.token_format,
                },
            )

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        id_token = token.get("id_token")
        access_token = AccessToken(
            tenant=self.tenant(request),
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=getattr(request, "lumo_id_token", None) if id_token else None,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),
            grant=getattr(request, "grant", None),
            jti=getattr(request, "access_token_jti", ""),
            token_format=request.client.token_format,
            act=getattr(request, "lumo_act", None) or {},
            subject=getattr(request, "lumo_subject", None) or "",
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = RefreshToken(
            tenant=self.tenant(request),
            user=request.user,
            application=request.client,
            access_token=access_token,
            token_family=previous_refresh_token.token_family if previous_refresh_token else uuid.uuid4(),
            resource=getattr(request, "resource", []),
            grant=getattr(request, "grant", None),
            auth_time=getattr(request, "auth_time", None),
            amr=getattr(request, "amr", None) or [],
        )
        self._set_token_value(refresh_token, refresh_token_code)
        refresh_token.save()
        return refresh_token

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        rt = request.refresh_token_instance
        if rt.tenant_id != self.tenant(request).pk or (rt.user is not None and not rt.user.is_active):
            return False
        # Lifetime per client, counted from when this refresh token was issued (rotation renews it).
        if rt.created + timedelta(seconds=client.refresh_token_lifetime) <= timezone.now():
            return False
        request.auth_time = rt.auth_time
        request.amr = rt.amr
        return True

    def validate_bearer_token(self, token, scopes, request):
        if not token or len(token) > 8192:
            return False
        access_token = (
            AccessToken.objects.select_related("application", "user")
            .filter(token_checksum=checksum(token), tenant=self.tenant(request))
            .first()
        )
        if (
            access_token is not None
            and access_token.is_valid(scopes)
            and (access_token.user is None or access_token.user.is_active)
        ):
            request.client = access_token.application
            request.user = access_token.user
            request.scopes = access_token.scope.split()  # what was granted: userinfo releases by it
            request.access_token = access_token
            return True
        self._set_oauth2_error_on_request(request, access_token, scopes)
        return False

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        """RFC 7009 §2.1: only tokens of the authenticated client; unknown tokens are not an error.
        Revoking a refresh token revokes its access token too."""
        found = checksum(token)
        scope = {"tenant": self.tenant(request), "application": request.client}
        refresh = RefreshToken.objects.filter(token_checksum=found, revoked__isnull=True, **scope).first()
        access = None if refresh else AccessToken.objects.filter(token_checksum=found, **scope).first()
        if refresh:
            refresh.revoke()
        elif access:
            access.revoke()
        if refresh or access:
            record(
                "oauth.token.revoked",
                tenant=self.tenant(request),
                actor=client_ref(request.client),
                request=self.django_request(request),
                target=client_ref(request.client),
                details={"token_type": "refresh_token" if refresh else "access_token"},
            )

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        """RFC 7662 §2.2: the token's claims if it is active in this tenant, else None."""
        if not token or len(token) > 8192:
            return None
        tenant, found = self.tenant(request), checksum(token)
        access = (
            AccessToken.objects.select_related("application", "user")
            .filter(token_checksum=found, tenant=tenant)
            .first()
        )
        if access is not None and not access.is_expired() and (access.user is None or access.user.is_active):
            return self._token_claims(request, access, access.expires, "Bearer", jti=access.jti)
        refresh = (
            RefreshToken.objects.select_related("application", "user")
            .filter(token_checksum=found, tenant=tenant, revoked__isnull=True)
            .first()
        )
        if refresh is not None and (refresh.user is None or refresh.user.is_active):
            expires = refresh.created + timedelta(seconds=refresh.application.refresh_token_lifetime)
            if expires > timezone.now():
                scope = refresh.access_token.scope if refresh.access_token else ""
                return self._token_claims(request, refresh, expires, "refresh_token", scope=scope)
        return None

    def _token_claims(self, request, token, expires, token_type, *, jti="", scope=None) -> dict:
        subject = str(token.user.sub) if token.user else (getattr(token, "subject", "") or token.application.client_id)
        claims = {
            "scope": token.scope if scope is None else scope,
            "client_id": token.application.client_id,
            "token_type": token_type,
            "exp": int(expires.timestamp()),
            "iat": int(token.created.timestamp()),
            "iss": self.get_oidc_issuer_endpoint(request),
            "sub": subject,
        }
        if token.user:
            claims["username"] = token.user.username
        if getattr(token, "act", None):
            claims["act"] = token.act  # RFC 8693 §4.1, §2.3: the delegation chain
        if jti:
            claims["jti"] = jti
        return claims

    # ---- OpenID Connect -------------------------------------------------------------------------
    def get_oidc_claims(self, token, token_handler, request):
        return oidc_claims.user_claims(request.user, request.scopes)

    def get_userinfo_claims(self, request):
        return oidc_claims.user_claims(request.user, request.scopes)

    def finalize_id_token(self, id_token, token, token_handler, request):
        now = int(timezone.now().timestamp())
        expires = now + ID_TOKEN_LIFETIME
        id_token.update(oidc_claims.user_claims(request.user, request.scopes))
        id_token.update({"iss": self.get_oidc_issuer_endpoint(request), "exp": expires, "iat": now})
        id_token.setdefault("aud", request.client_id)
        auth_time = getattr(request, "auth_time", None)
        if auth_time:
            id_token["auth_time"] = auth_time
        amr = getattr(request, "amr", None)
        if amr:
            id_token["amr"] = amr
            id_token["acr"] = "1"
        if request.nonce and "nonce" not in id_token:
            id_token["nonce"] = request.nonce
        saved = IDToken.objects.create(
            tenant=self.tenant(request),
            user=request.user,
            scope=" ".join(request.scopes),
            expires=timezone.now() + timedelta(seconds=ID_TOKEN_LIFETIME),
            application=request.client,
        )
        id_token["jti"] = str(saved.jti)
        request.lumo_id_token = saved
        return signing.sign(self.tenant(request), id_token)

    def validate_silent_authorization(self, request):
        return True

    def validate_silent_login(self, request):
        return True

    def validate_user_match(self, id_token_hint, scopes, claims, request):
        return True
