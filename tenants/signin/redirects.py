"""Where a tenant's sign-in may send the browser next: only paths of the same tenant."""

import posixpath
import re
from urllib.parse import unquote, urlsplit

from ..models import Tenant

_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(tenant: Tenant, candidate: str | None) -> str | None:
    """`candidate` if it is a path under /t/<slug>/ or /orgs/<slug>/ of `tenant`, else None.

    Absolute URLs, scheme-relative `//host`, backslashes, control characters and dot segments that
    climb out of the tenant are refused (browsers normalise `..` and `%2e%2e` before requesting).
    """
    if not candidate or len(candidate) > 2048:
        return None
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or not candidate.startswith("/") or candidate.startswith("//"):
        return None
    decoded = unquote(parts.path)
    if _CONTROL.search(candidate) or _CONTROL.search(decoded) or decoded.startswith("//"):
        return None
    normalised = posixpath.normpath(decoded)
    if decoded.endswith("/"):
        normalised += "/"
    for prefix in (f"/t/{tenant.slug}/", f"/orgs/{tenant.slug}/"):
        if normalised.startswith(prefix) or normalised == prefix.rstrip("/"):
            return candidate
    return None
