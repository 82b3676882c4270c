from django.apps import AppConfig


class SAMLConfig(AppConfig):
    name = "saml"
    verbose_name = "SAML 2.0"

    def ready(self) -> None:
        from . import quickstart  # noqa: F401  (registers the demo's SAML entry)
        from .sp import home_realm  # noqa: F401  (IdP connections as sign-in options)
