"""manage.py createscimtoken SLUG [--label L]"""

from django.core.management.base import BaseCommand, CommandError

from lumoauth.events.api import Ref
from lumoauth.urls_public import base_url
from scim.tokens import create_scim_token
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create a SCIM bearer token for a tenant (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--label", default="")

    def handle(self, *args, slug, label, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        _, token = create_scim_token(tenant, label=label, actor=Ref("operator", "", "manage.py createscimtoken"))
        self.stdout.write(f"SCIM base URL: {base_url()}/t/{slug}/scim/v2/")
        self.stdout.write(f"Bearer token (shown once): {token}")
