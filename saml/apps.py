from django.apps import AppConfig


class SAMLConfig(AppConfig):
    name = "saml"
