"""SAML 2.0 of a tenant: its IdP credential and the service providers it signs in to."""

import secrets

from django.db import models


def new_salt() -> str:
    return secrets.token_urlsafe(32)


class NameIDFormat(models.TextChoices):
    EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", "Email address"
    PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", "Persistent (stable, per service provider)"
    TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient", "Transient (new every sign-in)"


class IdPCredential(models.Model):
    """The tenant's SAML signing key (RSA-2048, encrypted at rest like its JWT keys) and a
    self-signed certificate published in its IdP metadata."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="saml_credential")
    private_key_encrypted = models.BinaryField()
    certificate_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"SAML credential of {self.tenant}"


class ServiceProvider(models.Model):
    """A SAML service provider registered by a tenant admin, usually from its metadata."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="saml_service_providers")
    name = models.CharField(max_length=200, blank=True)
    entity_id = models.CharField(max_length=1024)
    # [{"url": ..., "binding": ..., "index": ...}], from the SP's metadata or entered by hand.
    acs_endpoints = models.JSONField(default=list)
    slo_endpoints = models.JSONField(default=list, blank=True)
    certificate_pem = models.TextField(blank=True)
    nameid_format = models.CharField(max_length=100, choices=NameIDFormat.choices, default=NameIDFormat.EMAIL)
    # {"SAML attribute name": "user field"}: what is released, under which names.
    attribute_release = models.JSONField(default=dict, blank=True)
    sign_response = models.BooleanField(default=True)
    sign_assertion = models.BooleanField(default=True)
    encrypt_assertion = models.BooleanField(default=False)
    require_signed_requests = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    # Keys the persistent NameID: stable for this SP, unrelated across SPs (SAML core §8.3.7).
    nameid_salt = models.CharField(max_length=64, default=new_salt, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "entity_id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "entity_id"], name="saml_sp_per_tenant")]

    def __str__(self) -> str:
        return self.name or self.entity_id


class IdPConnection(models.Model):
    """A corporate identity provider (Okta, Entra ID, ADFS, ...) the tenant's users sign in with."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="saml_idp_connections")
    slug = models.SlugField(max_length=63, help_text="Used in /saml/sp/login?idp=<slug>")
    name = models.CharField(max_length=200)
    entity_id = models.CharField(max_length=1024)
    sso_url = models.URLField(max_length=2048)
    sso_binding = models.CharField(max_length=100)
    slo_url = models.URLField(max_length=2048, blank=True)
    certificate_pem = models.TextField()
    # {"user field": "SAML attribute name"}; the NameID is the subject.
    attribute_mapping = models.JSONField(default=dict, blank=True)
    default_groups = models.JSONField(default=list, blank=True)
    group_attribute = models.CharField(max_length=255, blank=True)
    # {"value the IdP sends": "group name here"}; values not listed are ignored.
    group_mapping = models.JSONField(default=dict, blank=True)
    email_domains = models.JSONField(default=list, blank=True)
    # Link a first sign-in to an existing account with the same email (only if the IdP is trusted).
    trust_email = models.BooleanField(default=False)
    sign_requests = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="saml_idp_connection_slug"),
            models.UniqueConstraint(fields=["tenant", "entity_id"], name="saml_idp_connection_entity"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def connection_key(self) -> str:
        return f"saml:{self.pk}"
