from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "lumoauth.retention"
    label = "retention"
    verbose_name = "Data retention"

    def ready(self):
        from . import browser_sessions  # noqa: F401  (registers its purge function)
