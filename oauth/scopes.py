"""The scope catalogue of a tenant: the OpenID Connect standard scopes plus the tenant's API scopes.

Descriptions are what the consent page shows, in plain words.
"""

from oauth2_provider.scopes import BaseScopes

from lumoauth.memo import TTLMemo
from lumoauth.webhooks import scope as webhook_scope

from .models import ApiScope, Client

STANDARD_SCOPES = {
    "openid": "Sign you in with your account",
    "profile": "See your name, username, picture and other profile details",
    "email": "See your email address",
    "phone": "See your phone number",
    "address": "See your postal address",
    "offline_access": "Keep access while you are not using the app",
}

# Scopes with power over the account: in the catalogue, but only clients that list them may ask.
CIBA_APPROVAL_SCOPE = "ciba:approve"
PRIVILEGED_SCOPES = {
    CIBA_APPROVAL_SCOPE: "Approve or deny sign-in requests from other apps",
    webhook_scope.SCOPE: webhook_scope.DESCRIPTION,
}


# Read on every token request; a new API scope reaches other processes within 10 seconds.
_api_scopes = TTLMemo(10)


def catalogue(tenant) -> dict[str, str]:
    api = _api_scopes.get(
        tenant.pk, lambda: dict(ApiScope.objects.filter(tenant=tenant).values_list("name", "description"))
    )
    return {**STANDARD_SCOPES, **PRIVILEGED_SCOPES, **api}


def forget_catalogue(tenant) -> None:
    _api_scopes.forget_changed(tenant.pk)


def allowed_for(client: Client) -> list[str]:
    """What this client may ask for: its own list if it has one, else the whole catalogue but the
    privileged scopes."""
    everything = catalogue(client.tenant)
    if client.allowed_scopes.strip():
        return [s for s in client.scope_list() if s in everything]
    return [s for s in everything if s not in PRIVILEGED_SCOPES]


def describe(tenant, scopes) -> list[tuple[str, str]]:
    everything = catalogue(tenant)
    return [(s, everything.get(s, s)) for s in scopes]


class TenantScopes(BaseScopes):
    """django-oauth-toolkit's scope backend, answering per client (and so per tenant)."""

    def get_all_scopes(self):
        return dict(STANDARD_SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return allowed_for(application) if application is not None else list(STANDARD_SCOPES)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        # No scope requested: nothing is granted beyond what the grant implies (RFC 6749 §3.3).
        return []
