"""Public functions of the audit kernel."""

from .actors import ANONYMOUS, SYSTEM, Ref, actor_from_request, user_ref
from .models import AuditEvent, AuditLogIsAppendOnly, Outcome
from .recorder import client_ip, record

__all__ = [
    "ANONYMOUS",
    "SYSTEM",
    "AuditEvent",
    "AuditLogIsAppendOnly",
    "Outcome",
    "Ref",
    "actor_from_request",
    "client_ip",
    "record",
    "user_ref",
]
