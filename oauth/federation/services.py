"""The tenant's OpenID Connect connections: create, change, refresh, delete (each change audited)."""

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from lumoauth.events.api import Ref, record
from tenants.connection_rules import RuleNames, check_provisioning_rules, is_text
from tenants.domains.claims import claim_domains, normalise
from tenants.models import FederatedIdentity, Tenant

from . import client_secret as secret_store
from .models import OIDCConnection, Preset
from .presets import DIRECTORY_ID, preset_fields
from .provider_http import ProviderError, is_secure_endpoint
from .provider_metadata import SUPPORTED_ALGORITHMS, discover
from .user_claims import DEFAULT_CLAIM_MAPPING, MAPPED_FIELDS

SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token
RULE_NAMES = RuleNames(
    mapping="claim_mapping",
    group_key="group_claim",
    source="claim",
    sources="claim names",
    provider="a provider",
    value="provider value",
)
MAX_SECRET = 1024
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
EDITABLE = {
    "name",
    "client_id",
    "client_secret",
    "scopes",
    "claim_mapping",
    "default_groups",
    "group_claim",
    "group_mapping",
    "email_domains",
    "link_verified_email",
    "use_userinfo",
    "show_on_login",
    "active",
    "allowed_tenant_ids",
}


def connection_ref(connection: OIDCConnection) -> Ref:
    return Ref("oidc_connection", str(connection.pk), connection.name)


def _domains(domains):
    if not isinstance(domains, list) or not all(isinstance(d, str) for d in domains):
        return domains
    return list(dict.fromkeys(normalise(d) for d in domains if d.strip()))


def _validate(connection: OIDCConnection) -> None:
    """What sign-in relies on: secure endpoints, scopes, mapping, group rules, one connection per domain."""
    errors: dict[str, list[str]] = {}

    def refuse(field, message):
        errors.setdefault(field, []).append(message)

    for name in ENDPOINTS:
        url = getattr(connection, name)
        required = name in ("authorization_endpoint", "token_endpoint") or (
            name == "jwks_uri" and connection.uses_id_token
        )
        if (url or required) and not is_secure_endpoint(url):
            refuse(name, "Use an https URL.")
    if connection.uses_id_token:
        if not connection.issuer:
            refuse("issuer", "The issuer is required.")
        algorithms = connection.id_token_algorithms
        if not algorithms or not isinstance(algorithms, list) or set(algorithms) - set(SUPPORTED_ALGORITHMS):
            refuse("id_token_algorithms", f"Choose among {', '.join(SUPPORTED_ALGORITHMS)}.")
    scopes = connection.scopes.split()
    if not scopes or not all(SCOPE_TOKEN.match(s) for s in scopes):
        refuse("scopes", "Scopes are space-separated words.")
    elif connection.uses_id_token and "openid" not in scopes:
        refuse("scopes", "OpenID Connect needs the openid scope.")  # OIDC Core §3.1.2.1: MUST be present
    if not is_text(connection.client_id, 255) or not connection.client_id.isprintable():
        refuse("client_id", "The client ID is required.")
    check_provisioning_rules(connection, RULE_NAMES, MAPPED_FIELDS, refuse)
    tenant_ids = connection.allowed_tenant_ids
    if not isinstance(tenant_ids, list) or not all(isinstance(t, str) and DIRECTORY_ID.match(t) for t in tenant_ids):
        refuse("allowed_tenant_ids", "Directory ids are GUIDs.")
    elif tenant_ids and not connection.issuer_is_template:
        refuse("allowed_tenant_ids", "Only a multi-tenant (common or organizations) Entra ID connection takes these.")
    if errors:
        raise ValidationError(errors)


def _provider_fields(preset: str, issuer: str, microsoft_tenant: str) -> dict:
    if preset != Preset.CUSTOM:
        return preset_fields(preset, microsoft_tenant=microsoft_tenant)
    if not issuer.strip():
        raise ValidationError({"issuer": "Enter the provider's issuer URL."})
    try:
        metadata = discover(issuer)
    except ProviderError as exc:
        raise ValidationError({"issuer": str(exc)}) from exc
    return {
        "issuer": metadata.issuer,
        "discovery_url": issuer.strip(),
        "authorization_endpoint": metadata.authorization_endpoint,
        "token_endpoint": metadata.token_endpoint,
        "userinfo_endpoint": metadata.userinfo_endpoint,
        "jwks_uri": metadata.jwks_uri,
        "id_token_algorithms": metadata.id_token_algorithms,
        "authorization_response_iss": metadata.authorization_response_iss,
        "token_endpoint_auth_method": metadata.token_endpoint_auth_method,
    }


def _check_secret(secret: str) -> None:
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET or not secret.isprintable():
        raise ValidationError({"client_secret": "Enter the client secret the provider gave you."})


def create_connection(
    tenant: Tenant,
    *,
    slug: str,
    name: str,
    preset: str,
    client_id: str,
    client_secret: str,
    issuer: str = "",
    microsoft_tenant: str = "",
    scopes: str | None = None,
    claim_mapping: dict | None = None,
    default_groups: list | None = None,
    group_claim: str = "",
    group_mapping: dict | None = None,
    email_domains: list | None = None,
    link_verified_email: bool = False,
    use_userinfo: bool | None = None,
    show_on_login: bool = True,
    allowed_tenant_ids: list | None = None,
    actor: Ref | None = None,
    request=None,
) -> OIDCConnection:
    """A connection from a preset, or from a provider's discovery document (`issuer`: its issuer
    URL or discovery URL, fetched now)."""
    if preset not in Preset.values:
        raise ValidationError({"preset": "Choose a provider."})
    _check_secret(client_secret)
    fields = _provider_fields(preset, issuer, microsoft_tenant)  # network: before the transaction
    fields.setdefault("claim_mapping", dict(DEFAULT_CLAIM_MAPPING))
    if scopes is not None:
        fields["scopes"] = scopes.strip()
    if claim_mapping is not None:
        fields["claim_mapping"] = dict(claim_mapping)
    if use_userinfo is not None:
        fields["use_userinfo"] = use_userinfo
    connection = OIDCConnection(
        tenant=tenant,
        slug=slug,
        name=name,
        preset=preset,
        client_id=client_id.strip() if isinstance(client_id, str) else client_id,
        default_groups=list(default_groups or []),
        group_claim=group_claim,
        group_mapping=dict(group_mapping or {}),
        email_domains=_domains(list(email_domains or [])),
        link_verified_email=link_verified_email,
        show_on_login=show_on_login,
        allowed_tenant_ids=list(allowed_tenant_ids or []),
        **fields,
    )
    connection.full_clean(exclude=["client_secret_encrypted"], validate_constraints=False)
    _validate(connection)
    secret_store.seal(connection, client_secret)
    with transaction.atomic():
        if OIDCConnection.objects.filter(tenant=tenant, slug=slug).exists():
            raise ValidationError({"slug": "Another connection already uses this slug."})
        try:
            with transaction.atomic():
                connection.save()
        except IntegrityError as exc:
            raise ValidationError({"slug": "Another connection already uses this slug."}) from exc
        record(
            "oidc.connection.created",
            tenant=tenant,
            actor=actor,
            request=request,
            target=connection_ref(connection),
            details={"preset": preset, "issuer": connection.issuer, "email_domains": connection.email_domains},
        )
        claim_domains(tenant, connection.email_domains, actor=actor, request=request)
    return connection


@transaction.atomic
def update_connection(
    connection: OIDCConnection, *, actor: Ref | None = None, request=None, **changes
) -> OIDCConnection:
    """Change what an admin may change (the endpoints come from the preset or discovery). An empty
    client_secret keeps the stored one."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} here")
    secret = changes.pop("client_secret", "")
    if "email_domains" in changes:
        changes["email_domains"] = _domains(changes["email_domains"])
    if "scopes" in changes and isinstance(changes["scopes"], str):
        changes["scopes"] = " ".join(changes["scopes"].split())
    for name, value in changes.items():
        setattr(connection, name, value)
    connection.full_clean(exclude=["client_secret_encrypted"], validate_constraints=False)
    _validate(connection)
    fields = sorted(changes)
    if secret:
        _check_secret(secret)
        secret_store.seal(connection, secret)
        fields.append("client_secret")  # the name only, never the value
    if not fields:
        return connection
    connection.save()
    record(
        "oidc.connection.updated",
        tenant=connection.tenant,
        actor=actor,
        request=request,
        target=connection_ref(connection),
        details={"fields": sorted(fields)},
    )
    if "email_domains" in changes:
        claim_domains(connection.tenant, connection.email_domains, actor=actor, request=request)
    return connection


def refresh_metadata(connection: OIDCConnection, *, actor: Ref | None = None, request=None) -> OIDCConnection:
    """Fetch the provider's discovery document again (new endpoints, algorithms) for a custom connection."""
    if connection.preset != Preset.CUSTOM:
        raise ValidationError("Preset connections take their endpoints from the preset.")
    fields = _provider_fields(Preset.CUSTOM, connection.discovery_url or connection.issuer, "")
    with transaction.atomic():
        connection = OIDCConnection.objects.select_for_update().get(pk=connection.pk)
        changed = sorted(name for name, value in fields.items() if getattr(connection, name) != value)
        for name in changed:
            setattr(connection, name, fields[name])
        if changed:
            _validate(connection)
            connection.save()
        record(
            "oidc.connection.updated",
            tenant=connection.tenant,
            actor=actor,
            request=request,
            target=connection_ref(connection),
            details={"fields": changed, "source": "discovery"},
        )
    return connection


@transaction.atomic
def delete_connection(connection: OIDCConnection, *, actor: Ref | None = None, request=None) -> None:
    """Users it provisioned stay; their links to it go with it (a later connection never inherits them)."""
    target, tenant = connection_ref(connection), connection.tenant
    unlinked, _ = FederatedIdentity.objects.filter(tenant=tenant, connection=connection.connection_key).delete()
    details = {"issuer": connection.issuer, "identities_unlinked": unlinked}
    connection.delete()
    record("oidc.connection.deleted", tenant=tenant, actor=actor, request=request, target=target, details=details)
