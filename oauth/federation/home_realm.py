"""The tenant's OpenID Connect connections as sign-in options (tenants/domains/home_realm.py)."""

from tenants.domains.home_realm import SignInConnection, register

from .models import OIDCConnection


@register
def oidc_connections(tenant):
    for connection in OIDCConnection.objects.filter(tenant=tenant):
        yield SignInConnection(
            key=connection.connection_key,
            kind="oidc",
            name=connection.name,
            email_domains=tuple(connection.email_domains),
            active=connection.active,
            show_on_login=connection.show_on_login,
            url_name="federation-oidc-login",
            url_kwargs={"slug": connection.slug},
        )
