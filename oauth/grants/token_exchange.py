"""The token-exchange grant at the token endpoint (RFC 8693 §2), as an oauthlib grant type.

oauthlib authenticates the client and checks it may use the grant; oauth/token_exchange/exchange.py
decides what may be issued; this issues it - an access token (stored like any other, so it can be
introspected and revoked), a JWT for another audience, or an ID token - and audits the exchange
with its whole chain (`oauth.token.exchanged`), in the transaction that stores the token.
"""

import json
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from lumoauth.events.api import Ref, record, user_ref

from .. import claims as oidc_claims
from ..models import IDToken
from ..server.core import ISSUER_KEY, TENANT_KEY
from ..services.consents import client_ref
from ..token_exchange import token_types
from ..token_exchange.exchange import Decision, ExchangeRequest, decide
from ..tokens import signing
from .params import refuse_duplicates

SINGLE_VALUED = (
    "grant_type",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "scope",
)
NOT_APPLICABLE = "N_A"  # RFC 8693 §2.2.1: token_type of an issued token that is not an access token


class TokenExchangeGrant(GrantTypeBase):
    def create_token_response(self, request, token_handler):
        headers = self._get_default_headers()
        try:
            decision = self.validate_token_request(request)
            with transaction.atomic():
                body = self.issue(decision, request, token_handler)
        except errors.OAuth2Error as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        return headers, json.dumps(body), 200

    def validate_token_request(self, request) -> Decision:
        refuse_duplicates(self.request_validator, request, SINGLE_VALUED)
        self.validate_client_authentication(request)
        self.validate_grant_type(request)
        repeated = request.decoded_body or []

        def param(name):  # oauthlib exposes the parameters a request sent as attributes
            return getattr(request, name, None) or None

        params = ExchangeRequest(
            subject_token=param("subject_token"),
            subject_token_type=param("subject_token_type"),
            actor_token=param("actor_token"),
            actor_token_type=param("actor_token_type"),
            requested_token_type=param("requested_token_type"),
            scope=getattr(request, "scope", None),
            audiences=[value for name, value in repeated if name == "audience" and value],
            resources=[value for name, value in repeated if name == "resource" and value],
        )
        django_request = self.request_validator.django_request(request)
        return decide(
            request.headers[TENANT_KEY], request.headers[ISSUER_KEY], request.client, params, request=django_request
        )

    # ---- issuing -------------------------------------------------------------------------------
    def issue(self, decision: Decision, request, token_handler) -> dict:
        if decision.requested_token_type == token_types.ACCESS_TOKEN:
            body = self._access_token(decision, request, token_handler)
        else:
            body = self._signed_token(decision, request)
        self._audit(decision, request, body)
        return body

    def _access_token(self, decision: Decision, request, token_handler) -> dict:
        request.user = decision.subject.user
        request.scopes = decision.scopes
        request.resource = decision.audiences  # RFC 8707: the token's aud (generate_access_token)
        request.lumo_act = decision.act
        request.lumo_subject = None if decision.subject.user else decision.subject.sub
        request.lumo_max_expires_in = decision.max_expires_in
        token = token_handler.create_token(request, refresh_token=False)  # §2.2.1: no refresh token here
        self.request_validator.save_token(token, request)  # stored hashed, audited oauth.token.issued
        token["issued_token_type"] = token_types.ACCESS_TOKEN
        return token

    def _lifetime(self, decision: Decision, client) -> int:
        lifetime = min(client.access_token_lifetime, settings.LUMOAUTH_SIGNED_TOKEN_MAX_LIFETIME)
        return min(lifetime, decision.max_expires_in) if decision.max_expires_in else lifetime

    def _signed_token(self, decision: Decision, request) -> dict:
        """A JWT for another audience, or an ID token: signed, not stored (token_type N_A)."""
        tenant, issuer, client = request.headers[TENANT_KEY], request.headers[ISSUER_KEY], request.client
        now, lifetime = int(time.time()), self._lifetime(decision, client)
        user = decision.subject.user
        if decision.requested_token_type == token_types.ID_TOKEN:
            claims = oidc_claims.user_claims(user, decision.scopes)
            saved = IDToken.objects.create(
                tenant=tenant,
                user=user,
                scope=" ".join(decision.scopes),
                expires=timezone.now() + timedelta(seconds=lifetime),
                application=client,
            )
            claims["jti"] = str(saved.jti)
            audience = decision.audiences or [client.client_id]  # OIDC Core §2: for the client by default
        else:
            claims = {"sub": decision.subject.sub, "scope": " ".join(decision.scopes), "client_id": client.client_id}
            claims["jti"] = uuid.uuid4().hex
            audience = decision.audiences or [issuer]
        claims.update(
            {
                "iss": issuer,
                "aud": audience[0] if len(audience) == 1 else audience,
                "iat": now,
                "exp": now + lifetime,
            }
        )
        if decision.act:
            claims["act"] = decision.act
        record(
            "oauth.token.issued",
            tenant=tenant,
            actor=user_ref(user) if user else client_ref(client),
            request=self.request_validator.django_request(request),
            target=client_ref(client),
            details={
                "grant_type": request.grant_type,
                "scope": " ".join(decision.scopes),
                "refresh_token": False,
                "format": decision.requested_token_type,
            },
        )
        return {
            "access_token": signing.sign(tenant, claims),
            "issued_token_type": decision.requested_token_type,
            "token_type": NOT_APPLICABLE,
            "expires_in": lifetime,
            "scope": " ".join(decision.scopes),
        }

    def _audit(self, decision: Decision, request, body: dict) -> None:
        subject = decision.subject
        record(
            "oauth.token.exchanged",
            tenant=request.headers[TENANT_KEY],
            actor=client_ref(request.client),
            request=self.request_validator.django_request(request),
            target=user_ref(subject.user) if subject.user else Ref("subject", subject.sub[:64], subject.sub),
            details={
                "mode": decision.mode,
                "subject": subject.summary(),
                "actor": decision.actor.summary() if decision.actor else None,
                "chain": decision.chain(),
                "act": decision.act,
                "audience": decision.audiences,
                "scope": " ".join(decision.scopes),
                "requested_token_type": decision.requested_token_type,
                "issued_token_type": body["issued_token_type"],
            },
        )
