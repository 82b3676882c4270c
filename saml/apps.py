from django.apps import AppConfig


class SAMLConfig(AppConfig):
    name = "saml"
    verbose_name = "SAML 2.0"

    def ready(self) -> None:
        from tenants.signin import logout_chains

        from . import quickstart  # noqa: F401  (registers the demo's SAML entry)
        from .idp.slo import SAMLLogoutChain
        from .sp import home_realm  # noqa: F401  (IdP connections as sign-in options)

        logout_chains.register(SAMLLogoutChain())  # the tenant's sign-out reaches its SAML SPs
