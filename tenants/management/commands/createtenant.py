"""manage.py createtenant SLUG --name NAME --admin-email EMAIL"""

import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from lumoauth.events.api import Ref
from lumoauth.urls_public import public_url
from tenants.services.tenants import create_tenant
from tenants.services.users import create_user


class Command(BaseCommand):
    help = "Create a tenant and its first administrator, and print how the administrator signs in."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True, help="Display name of the organization")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-username", default="admin")

    def handle(self, *args, slug, name, admin_email, admin_username, **options):
        actor = Ref("operator", "", "manage.py createtenant")
        password = secrets.token_urlsafe(18)
        try:
            with transaction.atomic():
                tenant = create_tenant(slug, name, actor=actor)
                create_user(
                    tenant,
                    admin_username,
                    email=admin_email,
                    password=password,
                    is_tenant_admin=True,
                    email_verified=False,
                    actor=actor,
                )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Created tenant {slug!r} ({name}).")
        self.stdout.write(f"Sign in at: {public_url(f'/t/{slug}/login')}")
        self.stdout.write(f"  username: {admin_username}")
        self.stdout.write(f"  password: {password}   (shown once; change it on the account page)")
