"""manage.py rotatekeys SLUG [--alg RS256|ES256|PS256]"""

from django.core.management.base import BaseCommand, CommandError

from lumoauth.events.api import Ref
from tenants.models import Tenant
from tenants.signing_keys.api import ALGORITHMS, SigningKey, published_keys, rotate_keys


class Command(BaseCommand):
    help = (
        "Rotate a tenant's signing keys: the next key starts signing, the active key retires (it stays "
        "published until what it signed has expired) and a new next key is published."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--alg",
            choices=ALGORITHMS,
            help="Algorithm of the new next key (default: that of the key promoted now). It signs from the "
            "following rotation, once verifiers have seen it in the JWKS.",
        )

    def handle(self, *args, slug, alg=None, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {slug!r}.")
        try:
            active = rotate_keys(tenant, alg=alg, actor=Ref("operator", "", "manage.py rotatekeys"))
        except ValueError as exc:  # an unsupported alg passed by call_command
            raise CommandError(str(exc)) from exc
        keys = published_keys(tenant)
        self.stdout.write(f"Rotated the signing keys of {tenant.slug!r}.")
        self.stdout.write(f"  active: {active.kid} ({active.alg})")
        for key in keys:
            if key.state == SigningKey.State.NEXT:
                self.stdout.write(f"  next:   {key.kid} ({key.alg})")
        for key in keys:
            if key.state == SigningKey.State.RETIRING:
                until = f"{key.unpublish_after:%Y-%m-%d %H:%M:%S} UTC"
                self.stdout.write(f"  retiring: {key.kid} ({key.alg}), published until {until}")
