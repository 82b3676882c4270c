"""The demo tenant's SAML entries for `manage.py quickstart --json`: its IdP metadata URL and a demo
service provider registered with it."""

from lumoauth.events.api import Ref
from lumoauth.quickstart import contribute

from .models import ServiceProvider
from .services.service_providers import register_from_metadata

DEMO_SP_ENTITY_ID = "http://localhost:8081/saml/metadata"
DEMO_SP_ACS = "http://localhost:8081/saml/acs"
DEMO_SP_METADATA = (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    f'entityID="{DEMO_SP_ENTITY_ID}">'
    '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"
    '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
    f'Location="{DEMO_SP_ACS}" index="0"/>'
    "</md:SPSSODescriptor></md:EntityDescriptor>"
)


@contribute(order=20)
def saml_demo(tenant, info: dict) -> None:
    if not ServiceProvider.objects.filter(tenant=tenant, entity_id=DEMO_SP_ENTITY_ID).exists():
        register_from_metadata(
            tenant, DEMO_SP_METADATA, name="Demo SAML app", actor=Ref("system", "", "manage.py quickstart")
        )
    base = f"{info['base_url']}/t/{tenant.slug}/saml"
    info["saml_idp_metadata_url"] = f"{base}/idp/metadata"
    info["saml_sp_metadata_url"] = f"{base}/sp/metadata"
    info["saml_service_providers"] = [{"entity_id": DEMO_SP_ENTITY_ID, "acs_url": DEMO_SP_ACS}]
