"""Consents: what a user allowed a client, remembered so the user is asked only about what is new."""

from django.db import transaction

from lumoauth.events.api import Ref, record, user_ref

from ..models import Client, Consent
from .authorizations import revoke_user_tokens


def client_ref(client: Client) -> Ref:
    return Ref("client", client.client_id, client.name or client.client_id)


def consent_covers(user, client: Client, scopes) -> bool:
    consent = Consent.objects.filter(user=user, client=client, tenant=client.tenant_id).first()
    return consent is not None and consent.covers(scopes)


@transaction.atomic
def grant_consent(user, client: Client, scopes, *, request=None) -> Consent:
    consent, _ = Consent.objects.select_for_update().get_or_create(
        tenant=client.tenant, user=user, client=client, defaults={"scopes": []}
    )
    added = sorted(set(scopes) - set(consent.scopes))
    if added:
        consent.scopes = sorted(set(consent.scopes) | set(scopes))
        consent.save(update_fields=["scopes", "updated_at"])
        record(
            "consent.granted",
            tenant=client.tenant,
            actor=user_ref(user),
            request=request,
            target=client_ref(client),
            details={"scopes": added},
        )
    return consent


@transaction.atomic
def revoke_consent(consent: Consent, *, actor: Ref | None = None, request=None) -> None:
    """Forget the consent and revoke what the client holds for the user on its strength: its
    tokens and unredeemed codes (RFC 7009 §2.1: tokens based on a revoked grant are invalidated)."""
    target = client_ref(consent.client)
    tenant = consent.client.tenant
    scopes = consent.scopes
    consent.delete()
    record("consent.revoked", tenant=tenant, actor=actor, request=request, target=target, details={"scopes": scopes})
    revoke_user_tokens(consent.user, consent.client, actor=actor, request=request, reason="consent_revoked")
