"""Expired browser sessions (Django's server-side sessions): what `manage.py clearsessions` does, but
in batches. Django never loads a session past its expire_date, so nothing can use these rows."""

from collections import Counter
from datetime import datetime
from importlib import import_module

from django.conf import settings

from .api import delete_in_batches, purger


@purger(order=90)
def browser_sessions(now: datetime, *, dry_run: bool = False) -> Counter:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):  # signed-cookie or cache sessions expire by themselves
        return Counter()
    return delete_in_batches(store.get_model_class().objects.filter(expire_date__lt=now), dry_run=dry_run)
