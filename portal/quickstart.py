"""The demo tenant's admin portal address, for `manage.py quickstart --json`."""

from lumoauth.quickstart import contribute


@contribute(order=40)
def portal(tenant, info: dict) -> None:
    info["portal_url"] = f"{info['base_url']}/t/{tenant.slug}/portal/"
