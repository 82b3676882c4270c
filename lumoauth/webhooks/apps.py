from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "lumoauth.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from . import metrics, retention  # noqa: F401  (retention: registers its purge functions)

        metrics.register()
