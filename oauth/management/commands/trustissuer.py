"""manage.py trustissuer SLUG ISSUER (--jwks-uri URL | --jwks-file FILE) [--name N] [--audience A]
[--subject-match email|username|none] [--scopes "a b"] [--remove]"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lumoauth.events.api import Ref
from oauth.models import SubjectMatch, TrustedIssuer
from oauth.services.trusted_issuers import (
    TrustedIssuerSpec,
    create_trusted_issuer,
    delete_trusted_issuer,
    update_trusted_issuer,
)
from tenants.models import Tenant

ACTOR = Ref("operator", "", "manage.py trustissuer")


class Command(BaseCommand):
    help = "Trust (or stop trusting) an external JWT issuer for token exchange (RFC 8693)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("issuer", help="the exact iss of its tokens")
        parser.add_argument("--name", default="")
        parser.add_argument("--jwks-uri", default="")
        parser.add_argument("--jwks-file", default="", help="a JWK Set (public keys) as JSON")
        parser.add_argument("--audience", default="", help="the aud its tokens carry; default: the tenant's issuer")
        parser.add_argument("--subject-match", choices=SubjectMatch.values, default=SubjectMatch.NONE)
        parser.add_argument("--scopes", default="", help="the most its tokens can be exchanged for")
        parser.add_argument("--remove", action="store_true")

    def handle(self, *args, slug, issuer, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        existing = TrustedIssuer.objects.filter(tenant=tenant, issuer=issuer).first()
        if options["remove"]:
            if existing is None:
                raise CommandError(f"{issuer} is not trusted by {slug}.")
            delete_trusted_issuer(existing, actor=ACTOR)
            self.stdout.write(f"{issuer} is no longer trusted by {slug}.")
            return
        jwks = {}
        if options["jwks_file"]:
            try:
                with open(options["jwks_file"], encoding="utf-8") as handle:
                    jwks = json.load(handle)
            except (OSError, ValueError) as exc:
                raise CommandError(f"Cannot read {options['jwks_file']}: {exc}") from exc
        spec = TrustedIssuerSpec(
            name=options["name"] or issuer[:200],
            issuer=issuer,
            jwks=jwks,
            jwks_uri=options["jwks_uri"],
            audience=options["audience"],
            allowed_scopes=options["scopes"],
            subject_match=options["subject_match"],
        )
        try:
            if existing is None:
                create_trusted_issuer(tenant, spec, actor=ACTOR)
            else:
                update_trusted_issuer(existing, spec, actor=ACTOR)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"{issuer} is trusted by {slug} (subject match: {spec.subject_match}).")
