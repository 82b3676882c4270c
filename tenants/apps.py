from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants and directories"

    def ready(self) -> None:
        from . import retention  # noqa: F401  (registers its purge function)
