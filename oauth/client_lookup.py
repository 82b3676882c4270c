"""Finding a tenant's client by client_id - the hottest query of the token endpoint - memoised for a
few seconds per process.

Any save or delete of a client forgets it in this process at once (signals below); other processes
see the change within CLIENT_MEMO_SECONDS. So a rotated secret or a deleted client may still be
accepted by another worker for that long: documented in docs/oauth.md.
"""

import copy

from django.db.models.signals import post_delete, post_save

from lumoauth.memo import TTLMemo

from .models import Client

CLIENT_MEMO_SECONDS = 5
_clients = TTLMemo(CLIENT_MEMO_SECONDS)


def find_client(tenant, client_id: str) -> Client | None:
    found = _clients.get(
        (tenant.pk, client_id),
        # A slice, not first(): no ORDER BY to compile.
        lambda: next(iter(Client.objects.filter(tenant=tenant, client_id=client_id)[:1]), None),
    )
    if found is None:
        return None
    client = copy.copy(found)  # each request its own instance
    client.tenant = tenant
    return client


def _forget(sender, instance: Client, **kwargs) -> None:
    _clients.forget_changed((instance.tenant_id, instance.client_id))


post_save.connect(_forget, sender=Client, dispatch_uid="oauth.client_lookup.saved")
post_delete.connect(_forget, sender=Client, dispatch_uid="oauth.client_lookup.deleted")
