"""Federation fixtures: Globex (a second LumoAuth tenant) as Acme's OpenID Provider, over real HTTP;
a test DNS server for domain verification."""

from types import SimpleNamespace

import pytest

from oauth.federation.services import create_connection
from oauth.models import AuthMethod, Client, GrantType
from oauth.services.clients import ClientSpec, create_client

from .dns_server import TXTServer


@pytest.fixture
def loopback_outbound(settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True  # the providers listen on 127.0.0.1 (SSRF policy)


@pytest.fixture
def dns_server(settings):
    server = TXTServer().start()
    settings.LUMOAUTH_DNS_NAMESERVERS = [f"127.0.0.1:{server.port}"]
    settings.LUMOAUTH_DNS_TIMEOUT = 1.0
    yield server
    server.stop()


def callback_url(live_server, tenant, slug: str) -> str:
    return f"{live_server.url}/t/{tenant.slug}/federation/oidc/{slug}/callback"


@pytest.fixture
def globex_op(live_server, tenant, other_tenant, make_user, loopback_outbound):
    """Globex runs LumoAuth's OpenID Provider; Acme has a connection to it (slug "globex") through
    its discovery document, with a confidential client registered at Globex for Acme's callback."""
    client, secret = create_client(
        other_tenant,
        ClientSpec(
            name="Acme sign-in",
            client_type=Client.CLIENT_CONFIDENTIAL,
            grant_types=[GrantType.AUTHORIZATION_CODE],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            redirect_uris=[callback_url(live_server, tenant, "globex")],
        ),
    )
    bob = make_user(
        other_tenant,
        "bob",
        email="bob@globex.example",
        email_verified=True,
        name="Bob Builder",
        given_name="Bob",
        family_name="Builder",
    )
    connection = create_connection(
        tenant,
        slug="globex",
        name="Globex SSO",
        preset="custom",
        issuer=f"{live_server.url}/t/{other_tenant.slug}/api/v1",
        client_id=client.client_id,
        client_secret=secret,
        email_domains=["globex.example"],
        default_groups=["Partners"],
    )
    return SimpleNamespace(client=client, secret=secret, bob=bob, connection=connection, base=live_server.url)


# The portal's browser fixtures (headless Chromium signed in as acme's admin).
from tests.portal.conftest import admin, admin_client, admin_page, chromium  # noqa: E402, F401
