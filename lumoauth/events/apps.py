from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "lumoauth.events"
    label = "events"
    verbose_name = "Audit log"
