from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Admin portal"

    def ready(self) -> None:
        from . import quickstart  # noqa: F401  (adds portal_url to the quickstart JSON)
