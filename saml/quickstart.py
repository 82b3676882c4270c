"""The demo tenant's SAML IdP addresses, for `manage.py quickstart --json`."""

from lumoauth.quickstart import contribute


@contribute(order=20)
def saml_idp(tenant, info: dict) -> None:
    base = f"{info['base_url']}/t/{tenant.slug}/saml/idp"
    info["saml"] = {
        "idp_entity_id": f"{base}/metadata",
        "idp_metadata_url": f"{base}/metadata",
        "idp_sso_url": f"{base}/sso",
    }
