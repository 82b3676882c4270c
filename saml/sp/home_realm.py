"""The tenant's SAML IdP connections as sign-in options (tenants/domains/home_realm.py)."""

from tenants.domains.home_realm import SignInConnection, register

from ..models import IdPConnection


@register
def saml_connections(tenant):
    for connection in IdPConnection.objects.filter(tenant=tenant):
        yield SignInConnection(
            key=connection.connection_key,
            kind="saml",
            name=connection.name,
            email_domains=tuple(connection.email_domains),
            active=connection.active,
            show_on_login=connection.active,
            url_name="saml-sp-login",
            query={"idp": connection.slug},
        )
