"""SAML 2.0 assertions as subject tokens (RFC 8693 §3: `urn:ietf:params:oauth:token-type:saml2`,
a base64url-encoded assertion).

Accepted only from an active IdP connection of the tenant (saml.models.IdPConnection), whose
certificate must have signed the assertion itself (pysaml2 + xmlsec1, the same verification as the
tenant's SAML sign-in: one enveloped signature referencing the assertion, keys from the connection's
metadata only, never from the document). Then: inside its validity window, an audience naming this
tenant (its SP entity ID, issuer or token endpoint), a persistent subject, and used once (the replay
cache of the SAML sign-in, so an assertion cannot serve both).
"""

import base64
import binascii
import time
from dataclasses import dataclass
from datetime import datetime

from defusedxml import ElementTree
from django.core.cache import cache
from saml2.sigver import security_context

from saml.models import IdPConnection
from saml.sp.client import sp_config, sp_urls

from ..issuer import issuer_for

SAML_ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
MAX_XML_BYTES = 256 * 1024
MAX_ENCODED_LENGTH = MAX_XML_BYTES * 4 // 3 + 4
CLOCK_SKEW = 60


class AssertionRejected(Exception):
    pass


@dataclass(frozen=True)
class VerifiedAssertion:
    connection: IdPConnection
    id: str
    subject: str
    not_on_or_after: float


def _decode(encoded: str) -> str:
    text = encoded.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        if len(raw) > MAX_XML_BYTES:
            raise AssertionRejected("The SAML assertion is too large.")
        return raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise AssertionRejected("The subject_token is not a base64url-encoded SAML assertion.") from None


def _issuer(xml: str) -> str:
    try:
        root = ElementTree.fromstring(xml)
    except Exception:  # defusedxml: malformed, entities, DTDs - all refused
        raise AssertionRejected("The SAML assertion is not well-formed.") from None
    if root.tag != f"{{{SAML_ASSERTION}}}Assertion":
        raise AssertionRejected("The subject_token is not a SAML 2.0 Assertion.")
    issuer = root.find(f"{{{SAML_ASSERTION}}}Issuer")
    return (issuer.text or "").strip() if issuer is not None else ""


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip()).timestamp()
    except ValueError:
        raise AssertionRejected("The SAML assertion has a malformed time.") from None


def verify(tenant, encoded: str, *, request=None) -> VerifiedAssertion:
    xml = _decode(encoded)
    entity_id = _issuer(xml)
    connection = (
        IdPConnection.objects.filter(tenant=tenant, entity_id=entity_id, active=True).first() if entity_id else None
    )
    if connection is None:
        raise AssertionRejected("The SAML assertion comes from an identity provider this organization does not use.")
    try:
        context = security_context(sp_config(tenant, request, connections=[connection]))
        assertion = context.correctly_signed_message(xml, "assertion", must=True)
    except Exception:  # pysaml2/xmlsec1: unsigned, wrong key, tampered, wrapped, schema-invalid
        raise AssertionRejected("The SAML assertion's signature does not verify.") from None
    if assertion.issuer is None or (assertion.issuer.text or "").strip() != connection.entity_id:
        raise AssertionRejected("The SAML assertion's issuer does not match.")

    now = time.time()
    conditions = assertion.conditions
    if conditions is None:
        raise AssertionRejected("The SAML assertion has no conditions.")
    not_before = _timestamp(conditions.not_before)
    not_on_or_after = _timestamp(conditions.not_on_or_after)
    if not_on_or_after is None or not_on_or_after <= now - CLOCK_SKEW:
        raise AssertionRejected("The SAML assertion has expired.")
    if not_before is not None and not_before > now + CLOCK_SKEW:
        raise AssertionRejected("The SAML assertion is not valid yet.")
    issuer = issuer_for(tenant, request)
    ours = {sp_urls(tenant, request)["entity_id"], issuer, f"{issuer}/oauth/token"}
    audiences = {
        (audience.text or "").strip()
        for restriction in conditions.audience_restriction or []
        for audience in restriction.audience or []
    }
    if not audiences & ours:  # SAML core §2.5.1.4: meant for us, and it must say so
        raise AssertionRejected("The SAML assertion is not meant for this organization (audience).")
    for confirmation in (assertion.subject.subject_confirmation if assertion.subject else None) or []:
        data = confirmation.subject_confirmation_data
        expires = _timestamp(data.not_on_or_after) if data is not None else None
        if expires is not None and expires <= now - CLOCK_SKEW:
            raise AssertionRejected("The SAML assertion's subject confirmation has expired.")
    name_id = assertion.subject.name_id if assertion.subject else None
    if name_id is None or not (name_id.text or "").strip() or name_id.format == TRANSIENT:
        raise AssertionRejected("The SAML assertion names no persistent subject.")
    # One assertion, one use (SAML profiles §4.1.4.5), shared with the SAML sign-in's replay cache.
    if not cache.add(f"saml-assertion:{tenant.pk}:{assertion.id}", 1, timeout=max(60, int(not_on_or_after - now) + 60)):
        raise AssertionRejected("This SAML assertion was already used.")
    return VerifiedAssertion(connection, assertion.id, name_id.text.strip()[:512], not_on_or_after)
