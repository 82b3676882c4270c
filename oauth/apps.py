from django.apps import AppConfig


class OauthConfig(AppConfig):
    name = "oauth"
    verbose_name = "OAuth 2.0 and OpenID Connect"

    def ready(self) -> None:
        from . import client_lookup, quickstart, retention  # noqa: F401  (signal receivers; demo clients; purges)
        from .federation import home_realm  # noqa: F401  (OIDC connections as sign-in options)
