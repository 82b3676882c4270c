"""SAML endpoints of a tenant."""

from django.urls import path

from .idp import views as idp

urlpatterns = [
    path("saml/idp/metadata", idp.metadata, name="saml-idp-metadata"),
    path("saml/idp/sso", idp.sso, name="saml-idp-sso"),
    path("saml/idp/slo", idp.slo, name="saml-idp-slo"),
]
