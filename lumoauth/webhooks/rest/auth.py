"""Who may call the webhooks API: a bearer access token of this tenant (JWT or opaque) whose user is
an administrator of the tenant, carrying the privileged scope `webhooks:manage` (only clients that
list it may ask for it: an admin's token for any other app does not manage webhooks).

The token is checked by the OAuth server itself, exactly as for userinfo: django-oauth-toolkit's
resource check (`get_oauthlib_core().verify_request`, here through its DRF authentication class)
runs the tenant-aware validator (oauth.server.validator.validate_bearer_token), so a token of
another tenant, an expired, revoked or unknown one is simply not valid here.
"""

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.permissions import BasePermission

from ..scope import SCOPE as WEBHOOKS_SCOPE

REALM = "webhooks"


class TenantBearerAuthentication(OAuth2Authentication):
    www_authenticate_realm = REALM

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None and found[0] is None:
            # A client credentials token: valid, but it acts for no user (403 from the permission).
            return AnonymousUser(), found[1]
        return found


class IsTenantAdmin(BasePermission):
    message = f"The access token must belong to an administrator of this organization and carry {WEBHOOKS_SCOPE}."

    def has_permission(self, request, view) -> bool:
        user, token = request.user, request.auth
        tenant = getattr(request, "tenant", None)
        return bool(
            tenant is not None
            and getattr(user, "is_authenticated", False)
            and user.is_active
            and user.is_tenant_admin
            and user.tenant_id == tenant.pk
            and token is not None
            and WEBHOOKS_SCOPE in str(token.scope).split()
        )
