"""Who did something and to what, as the audit log stores them (snapshots, not references)."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Ref:
    """An actor or a target: a kind ("user", "operator", "system", "group", "tenant", ...), an id
    and a human label, copied into the event so it stays readable after the thing is gone."""

    type: str
    id: str = ""
    label: str = ""


SYSTEM = Ref("system", "", "system")
ANONYMOUS = Ref("anonymous", "", "anonymous")


def user_ref(user: Any) -> Ref:
    """A directory user, or a platform operator (a user without a tenant)."""
    kind = "user" if getattr(user, "tenant_id", None) else "operator"
    return Ref(kind, str(user.pk), user.get_username())


def actor_from_request(request: Any) -> Ref:
    user = getattr(request, "user", None) if request is not None else None
    if user is not None and user.is_authenticated:
        return user_ref(user)
    return ANONYMOUS
