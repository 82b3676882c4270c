"""The append-only audit log.

Rows are only ever inserted. The model refuses updates and deletes (instance and queryset), and on
PostgreSQL a trigger refuses them for any SQL (migration 0002), so not even raw SQL rewrites history.
"""

from django.db import models
from django.db.models import Q


class AuditLogIsAppendOnly(Exception):
    """Raised on any attempt to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be updated")

    def delete(self):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")

    _raw_delete = delete


class Outcome(models.TextChoices):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class AuditEvent(models.Model):
    # PROTECT: a tenant with history is suspended, never deleted.
    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=80)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    # Actor and target are snapshots, not foreign keys: the record outlives what it names.
    actor_type = models.CharField(max_length=32)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["tenant", "-id"], name="audit_tenant_recent"),
            models.Index(fields=["tenant", "action", "-id"], name="audit_tenant_action"),
            # The portal's search (lumoauth/events/search.py; PostgreSQL-only indexes in migration 0003).
            models.Index(fields=["tenant", "occurred_at"], name="audit_tenant_time"),
            models.Index(fields=["tenant", "-id"], condition=~Q(outcome="success"), name="audit_tenant_problems"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogIsAppendOnly("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")
