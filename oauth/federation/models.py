"""A tenant's connection to an external OpenID Provider (or GitHub's OAuth 2.0)."""

from django.db import models


class Preset(models.TextChoices):
    CUSTOM = "custom", "OpenID Provider (discovery)"
    GOOGLE = "google", "Google"
    MICROSOFT = "microsoft", "Microsoft Entra ID"
    GITHUB = "github", "GitHub"


class TokenEndpointAuth(models.TextChoices):
    CLIENT_SECRET_BASIC = "client_secret_basic", "HTTP Basic (client_secret_basic)"
    CLIENT_SECRET_POST = "client_secret_post", "In the request body (client_secret_post)"


class OIDCConnection(models.Model):
    """Where the tenant's users may sign in instead of with a password. The provider's endpoints come
    from its discovery document or from a preset; the client secret is encrypted at rest."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="oidc_connections")
    slug = models.SlugField(max_length=63, help_text="Used in /federation/oidc/<slug>/login")
    name = models.CharField(max_length=200)
    preset = models.CharField(max_length=16, choices=Preset.choices, default=Preset.CUSTOM)
    # The exact issuer the ID tokens must name; for Entra ID's multi-tenant endpoints it holds
    # "{tenantid}", filled in with the token's `tid` claim.
    issuer = models.CharField(max_length=1024, blank=True)
    discovery_url = models.CharField(max_length=2048, blank=True)
    authorization_endpoint = models.CharField(max_length=2048)
    token_endpoint = models.CharField(max_length=2048)
    userinfo_endpoint = models.CharField(max_length=2048, blank=True)
    jwks_uri = models.CharField(max_length=2048, blank=True)
    # Signature algorithms accepted on ID tokens (never "none", never HMAC).
    id_token_algorithms = models.JSONField(default=list, blank=True)
    # Whether the provider sends `iss` with the authorization response (RFC 9207); then it is required.
    authorization_response_iss = models.BooleanField(default=False)
    token_endpoint_auth_method = models.CharField(
        max_length=32, choices=TokenEndpointAuth.choices, default=TokenEndpointAuth.CLIENT_SECRET_BASIC
    )
    client_id = models.CharField(max_length=255)
    client_secret_encrypted = models.BinaryField(blank=True, default=b"")
    scopes = models.CharField(max_length=1000, default="openid email profile")
    # {"user field": "claim name"}; dotted names reach into objects ("realm_access.roles").
    claim_mapping = models.JSONField(default=dict, blank=True)
    default_groups = models.JSONField(default=list, blank=True)
    group_claim = models.CharField(max_length=255, blank=True)
    # {"value the provider sends": "group name here"}; values not listed are ignored.
    group_mapping = models.JSONField(default=dict, blank=True)
    email_domains = models.JSONField(default=list, blank=True)
    # Link a first sign-in to an existing account with the same email, when the provider says the
    # email is verified (email_verified=true).
    link_verified_email = models.BooleanField(default=False)
    # Ask the userinfo endpoint for claims the ID token leaves out.
    use_userinfo = models.BooleanField(default=True)
    # Entra ID multi-tenant issuers: the directory ids (`tid`) accepted; empty accepts any.
    allowed_tenant_ids = models.JSONField(default=list, blank=True)
    show_on_login = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "slug"], name="oidc_connection_slug")]

    def __str__(self) -> str:
        return self.name

    @property
    def connection_key(self) -> str:
        """The key of its users' FederatedIdentity rows."""
        return f"oidc:{self.pk}"

    @property
    def uses_id_token(self) -> bool:
        """OpenID Connect (an ID token proves who signed in); GitHub is plain OAuth 2.0."""
        return self.preset != Preset.GITHUB

    @property
    def issuer_is_template(self) -> bool:
        return "{tenantid}" in self.issuer
