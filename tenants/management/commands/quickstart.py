"""manage.py quickstart [--json]: an idempotent demo tenant with known accounts."""

import json

from django.core.management.base import BaseCommand
from django.db import transaction

from lumoauth.events.api import Ref
from lumoauth.quickstart import contributions
from lumoauth.urls_public import base_url
from tenants.models import Tenant, User
from tenants.services.groups import add_member, create_group
from tenants.services.tenants import create_tenant, set_tenant_status
from tenants.services.users import create_user, set_password

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Organization"
DEMO_GROUP = "Staff"
DEMO_USERS = [
    {
        "username": "admin",
        "password": "demo-admin-password",
        "role": "tenant_admin",
        "email": "admin@demo.example",
        "name": "Ada Admin",
        "given_name": "Ada",
        "family_name": "Admin",
    },
    {
        "username": "alice",
        "password": "demo-alice-password",
        "role": "user",
        "email": "alice@demo.example",
        "name": "Alice Example",
        "given_name": "Alice",
        "family_name": "Example",
    },
]
ACTOR = Ref("system", "", "manage.py quickstart")


def ensure_demo() -> Tenant:
    """Create what is missing and repair what drifted; running it twice changes nothing."""
    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    if tenant is None:
        tenant = create_tenant(DEMO_SLUG, DEMO_NAME, actor=ACTOR)
    elif not tenant.is_active:
        set_tenant_status(tenant, Tenant.Status.ACTIVE, actor=ACTOR)
    group = tenant.groups.filter(name=DEMO_GROUP).first() or create_group(tenant, DEMO_GROUP, actor=ACTOR)
    for spec in DEMO_USERS:
        user = User.objects.filter(tenant=tenant, username=spec["username"]).first()
        if user is None:
            user = create_user(
                tenant,
                spec["username"],
                email=spec["email"],
                password=spec["password"],
                actor=ACTOR,
                name=spec["name"],
                given_name=spec["given_name"],
                family_name=spec["family_name"],
                email_verified=True,
                is_tenant_admin=spec["role"] == "tenant_admin",
            )
        elif not user.check_password(spec["password"]):
            set_password(user, spec["password"], actor=ACTOR)
        add_member(group, user, actor=ACTOR)
    return tenant


def describe(tenant: Tenant) -> dict:
    base = base_url()
    return {
        "base_url": base,
        "tenant": tenant.slug,
        "issuer": f"{base}/t/{tenant.slug}/api/v1",
        "login_url": f"{base}/t/{tenant.slug}/login",
        "users": [{"username": u["username"], "password": u["password"], "role": u["role"]} for u in DEMO_USERS],
        "clients": [],
    }


class Command(BaseCommand):
    help = "Create (or repair) the demo tenant with a tenant admin and an ordinary user."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON object and nothing else")

    def handle(self, *args, **options):
        with transaction.atomic():
            tenant = ensure_demo()
            info = describe(tenant)
            for contribute in contributions():
                contribute(tenant, info)
        if options["json"]:
            self.stdout.write(json.dumps(info, indent=2))
            return
        self.stdout.write(f"Demo tenant ready: {tenant.name} ({tenant.slug})")
        self.stdout.write(f"  Sign in at  {info['login_url']}")
        for user in info["users"]:
            self.stdout.write(f"    {user['role']:<13} {user['username']} / {user['password']}")
        self.stdout.write(f"  Issuer      {info['issuer']}")
        for client in info["clients"]:
            secret = f" / {client['client_secret']}" if client["client_secret"] else ""
            self.stdout.write(f"  Client      {client['client_id']}{secret}  ({', '.join(client['grant_types'])})")
