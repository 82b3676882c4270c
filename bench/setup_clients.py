"""Benchmark fixtures, run through `manage.py shell` after `manage.py quickstart`.

Adds to the demo tenant a client_credentials client whose access tokens are opaque
(`token_format=opaque`), the counterpart of quickstart's `demo-service` (JWT). Idempotent: a second
run finds the client and only resets its secret if it no longer matches (e.g. a new SECRET_KEY,
which keys the client-secret hash). Prints one JSON line: {"client_id": ..., "client_secret": ...}.
"""

import json

from django.contrib.auth.hashers import check_password

from lumoauth.events.api import Ref
from oauth.models import AuthMethod, Client, GrantType, TokenFormat
from oauth.services.clients import ClientSpec, create_client
from tenants.models import Tenant

CLIENT_ID = "bench-opaque"
CLIENT_SECRET = "bench-opaque-secret-0123456789abcdef"
ACTOR = Ref("system", "", "bench/setup_clients.py")


def ensure_opaque_client() -> Client:
    tenant = Tenant.objects.get(slug="demo")
    client = Client.objects.filter(tenant=tenant, client_id=CLIENT_ID).first()
    if client is None:
        spec = ClientSpec(
            name="Bench service (opaque tokens)",
            client_type=Client.CLIENT_CONFIDENTIAL,
            grant_types=[GrantType.CLIENT_CREDENTIALS],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            token_format=TokenFormat.OPAQUE,
        )
        client, _ = create_client(tenant, spec, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, actor=ACTOR)
    elif not check_password(CLIENT_SECRET, client.client_secret):
        client.client_secret = CLIENT_SECRET
        client.save(update_fields=["client_secret", "updated"])
    assert client.token_format == TokenFormat.OPAQUE, client.token_format
    return client


client = ensure_opaque_client()
print(json.dumps({"client_id": client.client_id, "client_secret": CLIENT_SECRET, "token_format": client.token_format}))
