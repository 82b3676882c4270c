"""Per-tenant sign-in state inside one browser session.

One Django session can hold a sign-in for several tenants at once: a map of tenant id to
{user id, session hash, auth_time, amr}. `request.user` on a tenant URL is the user signed in to
*that* tenant (TenantMiddleware); signing in to tenant A never signs the browser in to tenant B.
The entry carries the user's session auth hash, so a password change ends other sessions.
"""

import time

from django.contrib.auth import SESSION_KEY as OPERATOR_SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.middleware.csrf import rotate_token
from django.utils.crypto import constant_time_compare

from ..models import Tenant, User

SESSION_KEY = "_lumoauth_tenant_auth"


def _entries(request) -> dict:
    return request.session.get(SESSION_KEY, {})


def sign_in(request, tenant: Tenant, user: User, *, amr: list[str]) -> None:
    """Record that `user` authenticated to `tenant` now, by the methods in `amr` (RFC 8176)."""
    if user.tenant_id != tenant.pk:
        raise ValueError("a user signs in only to their own tenant")
    # A new session key on every sign-in defeats session fixation; the other tenants' entries stay.
    request.session.cycle_key()
    entries = dict(_entries(request))
    entries[str(tenant.pk)] = {
        "uid": user.pk,
        "hash": user.get_session_auth_hash(),
        "auth_time": int(time.time()),
        "amr": list(amr),
    }
    request.session[SESSION_KEY] = entries
    rotate_token(request)
    request.user = user


def sign_out(request, tenant: Tenant) -> bool:
    """End the sign-in to `tenant` only; False when there was none."""
    entries = dict(_entries(request))
    removed = entries.pop(str(tenant.pk), None) is not None
    if entries or OPERATOR_SESSION_KEY in request.session:
        # Other tenants (or a platform operator's admin sign-in) stay signed in.
        request.session[SESSION_KEY] = entries
        request.session.cycle_key()
    else:
        request.session.flush()
    request.user = AnonymousUser()
    return removed


def refresh_hash(request, tenant: Tenant, user: User) -> None:
    """Keep this session valid after the user changed their own password."""
    entries = dict(_entries(request))
    entry = entries.get(str(tenant.pk))
    if entry and entry["uid"] == user.pk:
        entry["hash"] = user.get_session_auth_hash()
        request.session[SESSION_KEY] = entries
        request.session.cycle_key()


def session_user(request, tenant: Tenant) -> User | AnonymousUser:
    """The active user signed in to `tenant` in this browser session, or AnonymousUser."""
    entry = _entries(request).get(str(tenant.pk))
    if not entry:
        return AnonymousUser()
    user = User.objects.filter(pk=entry.get("uid"), tenant=tenant, is_active=True).first()
    if user is None or not constant_time_compare(entry.get("hash", ""), user.get_session_auth_hash()):
        entries = dict(_entries(request))
        entries.pop(str(tenant.pk), None)
        request.session[SESSION_KEY] = entries
        return AnonymousUser()
    return user


def authentication_info(request, tenant: Tenant) -> dict | None:
    """auth_time and amr of the current sign-in to `tenant` (for OIDC max_age and ID tokens)."""
    entry = _entries(request).get(str(tenant.pk))
    return {"auth_time": entry["auth_time"], "amr": entry["amr"]} if entry else None
