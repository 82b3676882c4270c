"""SAML endpoints of a tenant."""

from django.urls import path

from .idp import views as idp
from .sp import views as sp

urlpatterns = [
    path("saml/idp/metadata", idp.metadata, name="saml-idp-metadata"),
    path("saml/idp/sso", idp.sso, name="saml-idp-sso"),
    path("saml/idp/slo", idp.slo, name="saml-idp-slo"),
    path("saml/sp/metadata", sp.metadata, name="saml-sp-metadata"),
    path("saml/sp/login", sp.login, name="saml-sp-login"),
    path("saml/sp/acs", sp.acs, name="saml-sp-acs"),
    path("saml/sp/slo", sp.slo, name="saml-sp-slo"),
]
