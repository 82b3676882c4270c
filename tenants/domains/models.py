"""DomainClaim: a tenant's claim to an email domain, proven by a DNS TXT record."""

import secrets

from django.db import models


def new_verification_token() -> str:
    return secrets.token_urlsafe(24)


class DomainClaim(models.Model):
    """The tenant says it controls `domain`; once `verified_at` is set, it proved it by publishing
    `lumoauth-verification=<token>` in DNS. Only verified domains route users to a connection.

    The claim belongs to the tenant, not to one connection: the connection that serves the domain
    is the one listing it in its email domains, so moving a domain between connections needs no new
    proof."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="domain_claims")
    domain = models.CharField(max_length=253)
    token = models.CharField(max_length=64, default=new_verification_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        app_label = "tenants"
        ordering = ["domain"]
        constraints = [models.UniqueConstraint(fields=["tenant", "domain"], name="domain_claim_per_tenant")]

    def __str__(self) -> str:
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def record_name(self) -> str:
        return f"_lumoauth.{self.domain}"

    @property
    def record_value(self) -> str:
        return f"lumoauth-verification={self.token}"
