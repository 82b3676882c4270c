"""manage.py createinitialaccesstoken SLUG [--label L] [--expires-in SECONDS]"""

from django.core.management.base import BaseCommand, CommandError

from lumoauth.events.api import Ref
from oauth.issuer import issuer_for
from oauth.services.registration import create_initial_access_token
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create an initial access token for dynamic client registration (RFC 7591); shown once."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--label", default="")
        parser.add_argument("--expires-in", type=int, default=None, help="seconds; default: no expiry")

    def handle(self, *args, slug, label, expires_in, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        if expires_in is not None and expires_in <= 0:
            raise CommandError("--expires-in must be positive.")
        _, token = create_initial_access_token(
            tenant, label=label, expires_in=expires_in, actor=Ref("operator", "", "manage.py createinitialaccesstoken")
        )
        self.stdout.write(f"Registration endpoint: {issuer_for(tenant)}/oauth/register")
        self.stdout.write(f"Initial access token (shown once): {token}")
