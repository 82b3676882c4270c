"""Per-tenant sign-in state inside one browser session.

One Django session can hold a sign-in for several tenants at once: a map of tenant id to
{user id, session hash, auth_time, amr, key}. `request.user` on a tenant URL is the user signed in
to *that* tenant (TenantMiddleware); signing in to tenant A never signs the browser in to tenant B.
The key names the sign-in's SignInSession row (tenants.services.sessions): once that row has ended
(signed out, revoked by an administrator, user deactivated, deleted or password reset) the entry no
longer signs anyone in. The entry also carries the user's session auth hash, so a password change
ends other sessions even before their rows are ended.
"""

import time

from django.contrib.auth import SESSION_KEY as OPERATOR_SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.middleware.csrf import rotate_token
from django.utils.crypto import constant_time_compare

from ..models import Tenant, User
from ..services import sessions

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
    previous = entries.get(str(tenant.pk))
    if previous:
        sessions.close_session(previous.get("key"))  # replaced by this sign-in
    row = sessions.start_session(tenant, user, amr=amr, request=request)
    entries[str(tenant.pk)] = {
        "uid": user.pk,
        "hash": user.get_session_auth_hash(),
        "auth_time": int(time.time()),
        "amr": list(amr),
        "key": row.key,
    }
    request.session[SESSION_KEY] = entries
    rotate_token(request)
    request.user = user


def sign_out(request, tenant: Tenant) -> bool:
    """End the sign-in to `tenant` only; False when there was none."""
    entries = dict(_entries(request))
    entry = entries.pop(str(tenant.pk), None)
    if entry:
        sessions.close_session(entry.get("key"))
    if entries or OPERATOR_SESSION_KEY in request.session:
        # Other tenants (or a platform operator's admin sign-in) stay signed in.
        request.session[SESSION_KEY] = entries
        request.session.cycle_key()
    else:
        request.session.flush()
    request.user = AnonymousUser()
    return entry is not None


def refresh_hash(request, tenant: Tenant, user: User) -> None:
    """Keep this session valid after the user changed their own password."""
    entries = dict(_entries(request))
    entry = entries.get(str(tenant.pk))
    if entry and entry["uid"] == user.pk:
        entry["hash"] = user.get_session_auth_hash()
        request.session[SESSION_KEY] = entries
        request.session.cycle_key()


def session_user(request, tenant: Tenant) -> User | AnonymousUser:
    """The active user signed in to `tenant` in this browser session, or AnonymousUser.

    One indexed query per request (the session row by its unique key, joined with its user);
    an entry without a key (from before sessions were tracked) no longer counts.
    """
    entry = _entries(request).get(str(tenant.pk))
    if not entry:
        return AnonymousUser()
    row = sessions.find_session(tenant, entry.get("uid"), entry.get("key"))
    if row is None or not constant_time_compare(entry.get("hash", ""), row.user.get_session_auth_hash()):
        entries = dict(_entries(request))
        entries.pop(str(tenant.pk), None)
        request.session[SESSION_KEY] = entries
        return AnonymousUser()
    sessions.touch(row)
    return row.user


def current_key(request, tenant: Tenant, user: User) -> str | None:
    """The key of this browser's sign-in to `tenant`, if it is `user`'s (to keep it when they change
    their own password)."""
    session = getattr(request, "session", None)
    entry = session.get(SESSION_KEY, {}).get(str(tenant.pk)) if session is not None else None
    return entry.get("key") if entry and entry.get("uid") == user.pk else None


def authentication_info(request, tenant: Tenant) -> dict | None:
    """auth_time and amr of the current sign-in to `tenant` (for OIDC max_age and ID tokens)."""
    entry = _entries(request).get(str(tenant.pk))
    return {"auth_time": entry["auth_time"], "amr": entry["amr"]} if entry else None
