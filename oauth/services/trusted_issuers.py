"""External token issuers a tenant trusts for token exchange (RFC 8693): register, change, delete
(each audited). Their JWTs may then be subject tokens (mapped to a user of the tenant by email or
username) or actor tokens (an external workload or agent, named by its own iss and sub)."""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from lumoauth.events.api import Ref, record

from ..issuer import issuer_for
from ..models import SubjectMatch, TrustedIssuer
from ..server.jwks_fetch import public_key_set


@dataclass
class TrustedIssuerSpec:
    name: str
    issuer: str
    jwks: dict = field(default_factory=dict)
    jwks_uri: str = ""
    audience: str = ""
    allowed_scopes: str = ""
    subject_match: str = SubjectMatch.NONE
    active: bool = True


# RFC 7518 §6.2.2, §6.3.2, §6.4.1: what makes a JWK private (or a shared secret).
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def issuer_ref(trusted: TrustedIssuer) -> Ref:
    return Ref("trusted_issuer", str(trusted.pk), trusted.name or trusted.issuer)


def check(tenant, spec: TrustedIssuerSpec) -> None:
    problems: dict[str, list[str]] = {}

    def problem(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    if not spec.issuer.strip() or len(spec.issuer) > 1024 or any(c.isspace() for c in spec.issuer):
        problem("issuer", "The issuer is the exact `iss` value of its tokens (no spaces).")
    if spec.issuer == issuer_for(tenant):
        problem("issuer", "This organization's own tokens are always accepted.")
    if bool(spec.jwks) == bool(spec.jwks_uri):
        problem("jwks", "Give the issuer's keys inline (jwks) or by URL (jwks_uri), one of the two.")
    if spec.jwks and public_key_set(spec.jwks, "") is None:
        problem("jwks", "jwks must be a JWK Set with at least one public key.")
    private = [k for k in (spec.jwks or {}).get("keys", []) if isinstance(k, dict) and PRIVATE_MEMBERS & set(k)]
    if private:  # never store someone else's private (or symmetric) key material
        problem("jwks", "Give the issuer's public keys only: a key has private members (d, p, q, ... or k).")
    if spec.jwks_uri and urlsplit(spec.jwks_uri).scheme != "https":
        problem("jwks_uri", "jwks_uri must be an https URL.")
    if spec.subject_match not in SubjectMatch.values:
        problem("subject_match", "Unknown subject match.")
    if problems:
        raise ValidationError(problems)


def _apply(trusted: TrustedIssuer, spec: TrustedIssuerSpec) -> None:
    for name in ("name", "issuer", "jwks", "jwks_uri", "audience", "allowed_scopes", "subject_match", "active"):
        setattr(trusted, name, getattr(spec, name))


@transaction.atomic
def create_trusted_issuer(tenant, spec: TrustedIssuerSpec, *, actor: Ref | None = None, request=None) -> TrustedIssuer:
    check(tenant, spec)
    if TrustedIssuer.objects.filter(tenant=tenant, issuer=spec.issuer).exists():
        raise ValidationError({"issuer": "This issuer is already trusted."})
    trusted = TrustedIssuer(tenant=tenant)
    _apply(trusted, spec)
    trusted.full_clean()
    trusted.save()
    record(
        "trusted_issuer.created",
        tenant=tenant,
        actor=actor,
        request=request,
        target=issuer_ref(trusted),
        details={"issuer": trusted.issuer, "subject_match": trusted.subject_match},
    )
    return trusted


@transaction.atomic
def update_trusted_issuer(
    trusted: TrustedIssuer, spec: TrustedIssuerSpec, *, actor: Ref | None = None, request=None
) -> TrustedIssuer:
    check(trusted.tenant, spec)
    _apply(trusted, spec)
    trusted.full_clean()
    trusted.save()
    record("trusted_issuer.updated", tenant=trusted.tenant, actor=actor, request=request, target=issuer_ref(trusted))
    return trusted


@transaction.atomic
def delete_trusted_issuer(trusted: TrustedIssuer, *, actor: Ref | None = None, request=None) -> None:
    target, tenant = issuer_ref(trusted), trusted.tenant
    trusted.delete()
    record("trusted_issuer.deleted", tenant=tenant, actor=actor, request=request, target=target)
