"""SignInSession: one sign-in of a user to a tenant in one browser.

The browser's server-side session holds only a random key; the row is what keeps the sign-in valid,
so ending the row (sign-out, an administrator, deactivation, a password reset) signs that browser
out on its next request. Rows change only through tenants.services.sessions.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class SignInSession(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signin_sessions")
    # Random, held in the browser's server-side session only; never shown (the portal uses the id).
    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Updated at most once a minute (tenants.services.sessions.touch).
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    # How the user authenticated (RFC 8176 values: "pwd", "saml", ...).
    amr = models.JSONField(default=list, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [
            # The dashboard's count and the user page's list read only sessions that have not ended.
            models.Index(
                fields=["tenant", "last_seen_at"], condition=Q(ended_at__isnull=True), name="signin_session_open"
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.pk} of user {self.user_id}"

    @property
    def is_ended(self) -> bool:
        return self.ended_at is not None
