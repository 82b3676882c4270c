"""The demo tenant's SCIM endpoint and a known demo token, for `manage.py quickstart --json`."""

from lumoauth.events.api import Ref
from lumoauth.quickstart import contribute

from .tokens import create_scim_token, scim_token_exists

DEMO_SCIM_TOKEN = "scim_demo-token-change-me-0123456789"


@contribute(order=30)
def scim_demo(tenant, info: dict) -> None:
    if not scim_token_exists(tenant, DEMO_SCIM_TOKEN):
        create_scim_token(
            tenant, label="quickstart", token=DEMO_SCIM_TOKEN, actor=Ref("system", "", "manage.py quickstart")
        )
    info["scim"] = {"base_url": f"{info['base_url']}/t/{tenant.slug}/scim/v2", "token": DEMO_SCIM_TOKEN}
