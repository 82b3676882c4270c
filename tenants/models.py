"""Tenants and their directory: users, groups, memberships.

Every tenant-owned row carries `tenant`, and uniqueness is per tenant. Rows change only through
`tenants.services`, which record audit events in the same transaction.
"""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from .domains.models import DomainClaim  # noqa: F401  (lives in its own package; imported so Django sees it)
from .signin.models import SignInSession  # noqa: F401  (lives in its own package; imported so Django sees it)
from .signing_keys.models import SigningKey  # noqa: F401  (lives in its own package; imported so Django sees it)

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    "Use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
)


class Tenant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField("display name", max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Natural keys are only meaningful for platform operators (tenant is null).
        return self.get(tenant__isnull=True, username=username)

    def create_superuser(self, username, email=None, password=None, **extra):
        """Used by `manage.py createsuperuser`: a platform operator for Django admin."""
        from .services.users import create_operator

        return create_operator(username=username, email=email or "", password=password)


class User(AbstractBaseUser):
    """A person in a tenant's directory, or a platform operator when `tenant` is null.

    The OpenID Connect standard claims (OIDC Core §5.1) are stored as fields; `sub` is a random
    UUID assigned once and never reused, so it is safe to publish as the subject identifier.
    """

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    sub = models.UUIDField("subject identifier", default=uuid.uuid4, unique=True, editable=False)
    username = models.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    # The provisioning client's own identifier for this user (SCIM externalId).
    external_id = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    email_verified = models.BooleanField(default=False)

    name = models.CharField("full name", max_length=300, blank=True)
    given_name = models.CharField(max_length=150, blank=True)
    family_name = models.CharField(max_length=150, blank=True)
    middle_name = models.CharField(max_length=150, blank=True)
    nickname = models.CharField(max_length=150, blank=True)
    preferred_username = models.CharField(max_length=150, blank=True)
    profile = models.URLField("profile page", blank=True)
    picture = models.URLField(blank=True)
    website = models.URLField(blank=True)
    gender = models.CharField(max_length=40, blank=True)
    birthdate = models.CharField(
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^\d{4}(-\d{2}-\d{2})?$", "Use YYYY-MM-DD, or YYYY alone.")],
    )
    zoneinfo = models.CharField(max_length=64, blank=True)
    locale = models.CharField(max_length=35, blank=True)
    phone_number = models.CharField(max_length=32, blank=True)
    phone_number_verified = models.BooleanField(default=False)
    # OIDC Core §5.1.1 address: formatted, street_address, locality, region, postal_code, country.
    address = models.JSONField(default=dict, blank=True)
    # SCIM enterprise extension (RFC 7643 §4.3): employeeNumber, costCenter, organization, division,
    # department, manager (the manager's id).
    enterprise = models.JSONField(default=dict, blank=True)

    is_active = models.BooleanField(default=True)
    is_tenant_admin = models.BooleanField(default=False)
    # Only meaningful for platform operators (tenant is null), who use Django admin.
    is_staff = models.BooleanField(default=False)
    is_superuser = models.BooleanField(default=False)

    date_joined = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(Lower("username"), "tenant", name="user_username_per_tenant"),
            models.UniqueConstraint(Lower("username"), condition=Q(tenant__isnull=True), name="user_operator_username"),
            models.UniqueConstraint(Lower("email"), "tenant", condition=~Q(email=""), name="user_email_per_tenant"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def is_operator(self) -> bool:
        return self.tenant_id is None

    # Django admin is for platform operators only; tenant users never get model permissions.
    def has_perm(self, perm, obj=None) -> bool:
        return self.is_active and self.is_operator and self.is_superuser

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(self, app_label) -> bool:
        return self.is_active and self.is_operator and self.is_superuser

    def get_full_name(self) -> str:
        return self.name or " ".join(p for p in (self.given_name, self.family_name) if p) or self.username

    def get_short_name(self) -> str:
        return self.given_name or self.username


class Group(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="groups")
    # The stable public identifier of the group (SCIM id).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField("display name", max_length=200)
    description = models.TextField(blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(User, through="Membership", related_name="directory_groups")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), "tenant", name="group_name_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"


class FederatedIdentity(models.Model):
    """A user's identity at an external identity provider (a SAML or OIDC connection of the tenant),
    linked to their account here. The same (connection, subject) always means the same user."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="federated_identities")
    # "saml:<connection id>" or "oidc:<connection id>": which connection vouched for the subject.
    connection = models.CharField(max_length=100)
    subject = models.CharField(max_length=512)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "connection", "subject"], name="federated_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} via {self.connection}"
