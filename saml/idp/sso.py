"""Single sign-on as the tenant's SAML IdP (SAML 2.0 Web Browser SSO profile), without HTTP.

`read_authn_request` turns an incoming AuthnRequest into a `PendingSSO` (or an `SSOError` to show
on a page: an unknown SP or ACS URL, a bad or missing signature, malformed XML are never answered
by posting to an untrusted address); `respond` builds the signed Response for a signed-in user.
"""

import base64
import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass

from defusedxml import ElementTree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.saml import NameID

from ..models import NameIDFormat, ServiceProvider
from ..services.service_providers import RELEASABLE_FIELDS
from .server import DIGEST_ALG, SIGN_ALG, idp_server, idp_urls

PASSWORD_PROTECTED_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MAX_REQUEST_BYTES = 64 * 1024


class SSOError(Exception):
    """Shown to the person on a page, never sent to the SP (the SP is not trusted yet)."""


@dataclass(frozen=True)
class PendingSSO:
    """A validated request waiting for the user: what to answer, to whom, and where."""

    sp_id: int
    request_id: str | None  # None for IdP-initiated SSO
    acs_url: str
    relay_state: str
    force_authn: bool


def peek_issuer(saml_request: str, binding: str) -> str | None:
    """Peek at the Issuer before pysaml2 validates the message, to find the SP's settings."""
    try:
        raw = base64.b64decode(saml_request, validate=False)
        if binding == BINDING_HTTP_REDIRECT:
            raw = zlib.decompress(raw, -15)
        if len(raw) > MAX_REQUEST_BYTES:
            return None
        issuer = ElementTree.fromstring(raw).find(f"{{{SAML}}}Issuer")
        return (issuer.text or "").strip() if issuer is not None else None
    except Exception:  # any garbage: the caller reports a malformed request
        return None


def read_authn_request(tenant, request, params: dict, binding: str) -> PendingSSO:
    saml_request = params.get("SAMLRequest", "")
    if not saml_request or len(saml_request) > MAX_REQUEST_BYTES:
        raise SSOError("The sign-in request is missing or too large.")
    entity_id = peek_issuer(saml_request, binding)
    if not entity_id:
        raise SSOError("The sign-in request is not a readable SAML AuthnRequest.")
    sp = ServiceProvider.objects.filter(tenant=tenant, entity_id=entity_id, active=True).first()
    if sp is None:
        raise SSOError("This application is not registered with this organization.")
    server = idp_server(tenant, request)
    if sp.require_signed_requests:
        server.config.setattr("idp", "want_authn_requests_signed", True)
    signature = params.get("Signature") if binding == BINDING_HTTP_REDIRECT else None
    if sp.require_signed_requests and binding == BINDING_HTTP_REDIRECT and not signature:
        raise SSOError("This application must sign its sign-in requests.")
    try:
        parsed = server.parse_authn_request(
            saml_request,
            binding,
            relay_state=params.get("RelayState"),
            sigalg=params.get("SigAlg"),
            signature=signature,
        )
    except Exception as exc:  # pysaml2 raises many types for bad signatures, XML and schema errors
        raise SSOError("The sign-in request could not be verified.") from exc
    if parsed is None:
        raise SSOError("The sign-in request could not be verified.")
    message = parsed.message
    if sp.require_signed_requests and binding == BINDING_HTTP_POST and message.signature is None:
        raise SSOError("This application must sign its sign-in requests.")
    try:
        args = server.response_args(message, [BINDING_HTTP_POST])
    except Exception as exc:  # the ACS URL or binding is not one the SP registered
        raise SSOError("The application asked for an answer at an address it has not registered.") from exc
    return PendingSSO(
        sp_id=sp.pk,
        request_id=message.id,
        acs_url=args["destination"],
        relay_state=params.get("RelayState", "")[:1024],
        force_authn=message.force_authn == "true",
    )


def idp_initiated(tenant, entity_id: str, relay_state: str = "") -> PendingSSO:
    sp = ServiceProvider.objects.filter(tenant=tenant, entity_id=entity_id, active=True).first()
    if sp is None or not sp.acs_endpoints:
        raise SSOError("This application is not registered with this organization.")
    acs = sorted(sp.acs_endpoints, key=lambda e: e.get("index", 0))[0]
    return PendingSSO(
        sp_id=sp.pk, request_id=None, acs_url=acs["url"], relay_state=relay_state[:1024], force_authn=False
    )


def name_id_for(sp: ServiceProvider, user, idp_entity_id: str) -> NameID:
    if sp.nameid_format == NameIDFormat.EMAIL:
        if not user.email:
            raise SSOError("Your account has no email address, which this application needs.")
        value = user.email
    elif sp.nameid_format == NameIDFormat.PERSISTENT:
        digest = hmac.new(sp.nameid_salt.encode(), str(user.sub).encode(), hashlib.sha256).digest()
        value = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        value = secrets.token_urlsafe(24)
    return NameID(format=sp.nameid_format, text=value, name_qualifier=idp_entity_id, sp_name_qualifier=sp.entity_id)


def released_attributes(sp: ServiceProvider, user) -> dict[str, list[str]]:
    identity = {}
    for attribute, field in sp.attribute_release.items():
        if field not in RELEASABLE_FIELDS:  # never credentials or flags, whatever was stored
            continue
        value = user.username if field == "username" else getattr(user, field, None)
        if field == "groups":
            value = list(user.directory_groups.values_list("name", flat=True))
        if value in (None, "", []):
            continue
        identity[attribute] = value if isinstance(value, list) else [str(value)]
    return identity


@dataclass(frozen=True)
class Answer:
    form_html: str  # auto-submitting form posting the signed Response to the ACS URL
    sp: ServiceProvider
    name_id: NameID  # remembered for single logout


def respond(tenant, request, pending: PendingSSO, user, auth_time: int) -> Answer:
    """The signed Response for `user`, ready to post to the SP's ACS URL."""
    sp = ServiceProvider.objects.get(pk=pending.sp_id, tenant=tenant)
    server = idp_server(tenant, request)
    urls = idp_urls(tenant, request)
    name_id = name_id_for(sp, user, urls.entity_id)
    response = server.create_authn_response(
        released_attributes(sp, user),
        in_response_to=pending.request_id,
        destination=pending.acs_url,
        sp_entity_id=sp.entity_id,
        userid=str(user.sub),
        name_id=name_id,
        authn={"class_ref": PASSWORD_PROTECTED_TRANSPORT, "authn_auth": urls.entity_id, "authn_instant": auth_time},
        sign_response=sp.sign_response,
        sign_assertion=sp.sign_assertion,
        encrypt_assertion=sp.encrypt_assertion,
        encrypt_cert_assertion=sp.certificate_pem if sp.encrypt_assertion else None,
        sign_alg=SIGN_ALG,
        digest_alg=DIGEST_ALG,
    )
    http_args = server.apply_binding(
        BINDING_HTTP_POST, str(response), pending.acs_url, pending.relay_state, response=True, sign=False
    )
    return Answer(form_html=http_args["data"], sp=sp, name_id=name_id)
