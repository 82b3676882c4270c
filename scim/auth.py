"""Bearer-token authentication for a tenant's SCIM endpoint, in the shape django-scim2 expects of
its AUTH_CHECK_MIDDLEWARE (it wraps each SCIM view's dispatch)."""

from .errors import scim_error
from .tokens import authenticate


class SCIMTokenAuthCheck:
    def __init__(self, get_response=None):
        self.get_response = get_response

    def __call__(self, request, *args, **kwargs):
        scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        tenant = getattr(request, "tenant", None)
        token = authenticate(tenant, presented.strip()) if tenant and scheme.lower() == "bearer" else None
        if token is None:
            # No token, a wrong one and another tenant's all look the same (RFC 7644 §3.12: 401).
            return scim_error(
                401,
                "A valid SCIM bearer token of this organization is required.",
                headers={"WWW-Authenticate": 'Bearer realm="SCIM"'},
            )
        request.scim_token = token
        return self.get_response(request, *args, **kwargs)
