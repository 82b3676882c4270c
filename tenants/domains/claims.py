"""Claiming and verifying a tenant's email domains (each change audited)."""

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from lumoauth.events.api import Outcome, Ref, record

from ..models import Tenant
from ..policy import is_domain_name
from .dns_check import DNSLookupError, published_token_found
from .models import DomainClaim

MAX_ERROR = 500


def claim_ref(claim: DomainClaim) -> Ref:
    return Ref("domain", str(claim.pk), claim.domain)


def normalise(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


def verified_domains(tenant: Tenant) -> set[str]:
    return set(DomainClaim.objects.filter(tenant=tenant, verified_at__isnull=False).values_list("domain", flat=True))


def is_verified(tenant: Tenant, domain: str) -> bool:
    return DomainClaim.objects.filter(tenant=tenant, domain=normalise(domain), verified_at__isnull=False).exists()


@transaction.atomic
def claim_domain(tenant: Tenant, domain: str, *, actor: Ref | None = None, request=None) -> DomainClaim:
    """The tenant's claim to `domain` (created unverified, with a fresh token, if there was none)."""
    domain = normalise(domain)
    if not is_domain_name(domain):
        raise ValidationError({"domain": "A domain looks like corp.example (no @, no scheme)."})
    existing = DomainClaim.objects.filter(tenant=tenant, domain=domain).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            claim = DomainClaim.objects.create(tenant=tenant, domain=domain)
    except IntegrityError:  # claimed concurrently
        return DomainClaim.objects.get(tenant=tenant, domain=domain)
    record("domain.claimed", tenant=tenant, actor=actor, request=request, target=claim_ref(claim))
    return claim


def claim_domains(tenant: Tenant, domains, *, actor: Ref | None = None, request=None) -> list[DomainClaim]:
    """Claims for every domain a connection serves (those already claimed are kept as they are)."""
    return [claim_domain(tenant, d, actor=actor, request=request) for d in domains if is_domain_name(normalise(d))]


def verify_claim(claim: DomainClaim, *, actor: Ref | None = None, request=None, resolver=None) -> bool:
    """Look for the claim's TXT record now. Success marks the domain verified (for good: removing the
    record later does not unverify it); failure keeps the previous state and says why."""
    error = ""
    try:
        found = published_token_found(claim.domain, claim.token, resolver)
        if not found:
            error = f"No TXT record {claim.record_value} at {claim.record_name} or {claim.domain}."
    except DNSLookupError as exc:
        found, error = False, f"The DNS lookup failed ({exc}); try again in a moment."
    except ImproperlyConfigured as exc:
        found, error = False, f"This server's DNS settings are invalid ({exc})."
    with transaction.atomic():
        claim = DomainClaim.objects.select_for_update().get(pk=claim.pk)
        claim.last_checked_at = timezone.now()
        claim.last_error = error[:MAX_ERROR]
        fields = ["last_checked_at", "last_error"]
        if found and claim.verified_at is None:
            claim.verified_at = claim.last_checked_at
            fields.append("verified_at")
        claim.save(update_fields=fields)
        record(
            "domain.verified" if found else "domain.verification_failed",
            tenant=claim.tenant,
            actor=actor,
            request=request,
            target=claim_ref(claim),
            outcome=Outcome.SUCCESS if found else Outcome.FAILURE,
            details={"record": claim.record_name} if found else {"reason": error[:MAX_ERROR]},
        )
    return found


@transaction.atomic
def delete_claim(claim: DomainClaim, *, actor: Ref | None = None, request=None) -> None:
    """Stop claiming the domain: sign-ins at it are no longer routed to a connection."""
    target, tenant = claim_ref(claim), claim.tenant
    claim.delete()
    record("domain.claim_deleted", tenant=tenant, actor=actor, request=request, target=target)
