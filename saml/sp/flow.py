"""Signing in to the tenant through a corporate SAML IdP (SAML 2.0 Web Browser SSO, SP side).

`start` sends the browser to the IdP with a signed AuthnRequest; `finish` verifies the Response
(pysaml2 + xmlsec1: signature by the connection's certificate, audience, destination, validity
window, InResponseTo one of our outstanding requests; plus a replay cache of assertion IDs here),
then provisions or links the user just in time.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from tenants.federation import ExternalIdentity, ProvisioningError, sign_in_externally
from tenants.signin import reauthentication

from ..idp.server import SIGN_ALG
from ..idp.sso import SSOError, peek_issuer
from ..models import IdPConnection
from .client import sp_client

OUTSTANDING_KEY = "_lumoauth_saml_sp_outstanding"
MAX_OUTSTANDING = 10
MAX_RESPONSE_BYTES = 512 * 1024


@dataclass(frozen=True)
class FinishedSignIn:
    user: object
    connection: IdPConnection
    next_url: str | None


def start(tenant, request, connection: IdPConnection, next_url: str | None) -> str:
    """The IdP URL to send the browser to; remembers the request in the session."""
    client = sp_client(tenant, request)
    request_id, info = client.prepare_for_authenticate(
        entityid=connection.entity_id,
        binding=BINDING_HTTP_REDIRECT,
        sign=connection.sign_requests,
        sigalg=SIGN_ALG if connection.sign_requests else None,
        # SAML Core §3.4.1: ForceAuthn when the page signed in for demands a fresh sign-in.
        force_authn=reauthentication.asked_in(tenant, next_url),
    )
    outstanding = dict(request.session.get(OUTSTANDING_KEY, {}))
    while len(outstanding) >= MAX_OUTSTANDING:
        outstanding.pop(next(iter(outstanding)))
    outstanding[request_id] = {"connection": connection.pk, "next": next_url or ""}
    request.session[OUTSTANDING_KEY] = outstanding
    return dict(info["headers"])["Location"]


def finish(tenant, request, saml_response: str) -> FinishedSignIn:
    if not saml_response or len(saml_response) > MAX_RESPONSE_BYTES:
        raise SSOError("No SAML response was received.")
    issuer = peek_issuer(saml_response, BINDING_HTTP_POST)
    connection = IdPConnection.objects.filter(tenant=tenant, entity_id=issuer, active=True).first() if issuer else None
    if connection is None:
        raise SSOError("The answer came from an identity provider this organization does not use.")
    outstanding = dict(request.session.get(OUTSTANDING_KEY, {}))
    try:
        response = sp_client(tenant, request).parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={k: v["next"] for k, v in outstanding.items()}
        )
    except Exception as exc:  # pysaml2: bad signature, wrong audience, expired, unsolicited, malformed
        raise SSOError("The identity provider's answer could not be verified.") from exc
    if response is None or response.in_response_to not in outstanding:
        raise SSOError("The identity provider's answer could not be verified.")
    pending = outstanding.pop(response.in_response_to)
    request.session[OUTSTANDING_KEY] = outstanding
    if pending["connection"] != connection.pk:
        raise SSOError("The answer came from another identity provider than the one asked.")
    assertion = response.assertion
    expires = response.not_on_or_after or time.time() + 300
    # One assertion, one sign-in: a replayed response is refused (SAML profiles §4.1.4.5).
    if not cache.add(f"saml-assertion:{tenant.pk}:{assertion.id}", 1, timeout=max(60, int(expires - time.time()) + 60)):
        raise SSOError("This answer was already used.")
    identity = _external_identity(connection, response)
    try:
        user = sign_in_externally(tenant, identity, link_verified_email=connection.trust_email, request=request)
    except ProvisioningError as exc:
        raise SSOError(str(exc)) from exc
    return FinishedSignIn(user=user, connection=connection, next_url=pending["next"] or None)


def _external_identity(connection: IdPConnection, response) -> ExternalIdentity:
    attributes = response.get_identity() or {}
    claims = {}
    for field, attribute in connection.attribute_mapping.items():
        values = attributes.get(attribute) or []
        if values:
            claims[field] = str(values[0])
    groups = list(connection.default_groups)
    if connection.group_attribute:
        for value in attributes.get(connection.group_attribute) or []:
            if str(value) in connection.group_mapping:
                groups.append(connection.group_mapping[str(value)])
    name_id = response.name_id
    if name_id is None or not (name_id.text or "").strip():
        raise SSOError("The identity provider did not say who you are.")
    # A transient NameID changes each time: the email (if the IdP sends one) identifies the person then.
    transient = name_id.format == "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    subject = claims.get("email") if transient and claims.get("email") else name_id.text.strip()
    return ExternalIdentity(
        connection=connection.connection_key,
        connection_label=connection.name,
        subject=subject[:512],
        claims=claims,
        groups=groups,
        email_verified_by_idp=connection.trust_email,
    )
