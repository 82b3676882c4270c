"""API scopes a tenant defines for its own resource servers."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from lumoauth.events.api import Ref, record

from ..models import ApiScope
from ..scopes import PRIVILEGED_SCOPES, STANDARD_SCOPES, forget_catalogue

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,100}$")


@transaction.atomic
def define_api_scope(tenant, name: str, description: str, *, actor: Ref | None = None, request=None) -> ApiScope:
    if not SCOPE_TOKEN.match(name) or name in STANDARD_SCOPES or name in PRIVILEGED_SCOPES:
        raise ValidationError({"name": "Not a valid scope name (or it is a standard OpenID Connect scope)."})
    scope, created = ApiScope.objects.update_or_create(tenant=tenant, name=name, defaults={"description": description})
    forget_catalogue(tenant)
    record(
        "scope.created" if created else "scope.updated",
        tenant=tenant,
        actor=actor,
        request=request,
        target=Ref("scope", str(scope.pk), name),
    )
    return scope
