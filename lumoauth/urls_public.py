"""Absolute URLs under the platform's public origin (LUMOAUTH_BASE_URL, or the request's own)."""

from django.conf import settings

DEFAULT_LOCAL_ORIGIN = "http://127.0.0.1:8000"


def base_url(request=None) -> str:
    if settings.LUMOAUTH_BASE_URL:
        return settings.LUMOAUTH_BASE_URL
    if request is not None:
        return f"{request.scheme}://{request.get_host()}"
    return DEFAULT_LOCAL_ORIGIN


def public_url(path: str, request=None) -> str:
    return base_url(request) + path
