from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "lumoauth.observability"
    label = "observability"
    verbose_name = "Observability"

    def ready(self) -> None:
        from . import celery_signals, checks, tracing  # noqa: F401  (signal receivers, system checks)

        tracing.configure_from_environment()
