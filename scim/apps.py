from django.apps import AppConfig


class SCIMConfig(AppConfig):
    name = "scim"
    verbose_name = "SCIM 2.0"

    def ready(self) -> None:
        from . import quickstart  # noqa: F401  (registers the demo SCIM token)
