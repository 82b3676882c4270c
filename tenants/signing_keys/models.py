"""SigningKey: one key pair of a tenant, its public JWK and its encrypted private key.

A key moves one way through its states, driven by three timestamps (see docs/signing-keys.md):

    next ──activated_at──► active ──retired_at──► retiring ──unpublish_after passes──► expired

`next`, `active` and `retiring` keys are published in the tenant's JWKS; only `active` signs.
Rows are created and changed only by tenants.signing_keys.service, and never deleted (PROTECT on
the tenant; expired keys stay as history and cost one row each).
"""

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from . import checks  # noqa: F401  (registers the KEK system checks with the models)
from .keypairs import new_kid

# The states' database conditions. The partial unique constraints below use the same conditions,
# so the database itself guarantees one active and one next key per tenant.
ACTIVE_SLOT = Q(activated_at__isnull=False, retired_at__isnull=True)
NEXT_SLOT = Q(activated_at__isnull=True, retired_at__isnull=True, unpublish_after__isnull=True)


def published_at(when: datetime) -> Q:
    return Q(unpublish_after__isnull=True) | Q(unpublish_after__gt=when)


class SigningKeyQuerySet(models.QuerySet):
    def published(self, when: datetime | None = None) -> "SigningKeyQuerySet":
        return self.filter(published_at(when or timezone.now()))

    def active(self, when: datetime | None = None) -> "SigningKeyQuerySet":
        return self.published(when).filter(ACTIVE_SLOT)


class SigningKey(models.Model):
    class Algorithm(models.TextChoices):
        RS256 = "RS256", "RS256 (RSASSA-PKCS1-v1_5, SHA-256)"
        ES256 = "ES256", "ES256 (ECDSA P-256, SHA-256)"
        PS256 = "PS256", "PS256 (RSASSA-PSS, SHA-256)"

    class State(models.TextChoices):
        NEXT = "next", "Next (published, not signing yet)"
        ACTIVE = "active", "Active (signing)"
        RETIRING = "retiring", "Retiring (published, no longer signing)"
        EXPIRED = "expired", "Expired (not published)"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="signing_keys")
    kid = models.CharField("key id", max_length=64, unique=True, default=new_kid, editable=False)
    alg = models.CharField("algorithm", max_length=8, choices=Algorithm.choices)
    public_jwk = models.JSONField("public JWK")
    # AES-256-GCM under the key-encryption key, bound to `kid` (see encryption.py).
    private_key_encrypted = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True, help_text="When it started signing.")
    retired_at = models.DateTimeField(null=True, blank=True, help_text="When it stopped signing.")
    unpublish_after = models.DateTimeField(
        null=True, blank=True, help_text="After this the key leaves the JWKS: what it signed has expired."
    )

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        ordering = ["tenant", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=ACTIVE_SLOT, name="signing_key_one_active_per_tenant"),
            models.UniqueConstraint(fields=["tenant"], condition=NEXT_SLOT, name="signing_key_one_next_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.alg} {self.kid} ({self.state})"

    def state_at(self, when: datetime) -> str:
        # Unpublishing wins over everything: a key past unpublish_after neither signs nor verifies.
        if self.unpublish_after is not None and self.unpublish_after <= when:
            return self.State.EXPIRED
        if self.retired_at is not None:
            return self.State.RETIRING
        if self.activated_at is not None:
            return self.State.ACTIVE
        return self.State.NEXT

    @property
    def state(self) -> str:
        return self.state_at(timezone.now())

    def is_published_at(self, when: datetime) -> bool:
        return self.state_at(when) != self.State.EXPIRED
