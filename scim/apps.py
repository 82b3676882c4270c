from django.apps import AppConfig


class SCIMConfig(AppConfig):
    name = "scim"
