"""LumoAuth: a multi-tenant identity provider."""

from .celery import app as celery_app

__all__ = ["celery_app"]
