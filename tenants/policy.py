"""A tenant's own policy: default token lifetimes, password rules, allowed email domains, rate limits.

Kept in `Tenant.settings["policy"]`; read through `tenant_policy`, changed through
`update_tenant_policy` (audited). Unset values fall back to the platform defaults below.
"""

import re
from dataclasses import asdict, dataclass, field, fields

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from lumoauth import ratelimit
from lumoauth.events.api import Ref

from .models import Tenant
from .services.tenants import update_tenant

DEFAULT_ACCESS_TOKEN_LIFETIME = 3600  # 1 hour
DEFAULT_REFRESH_TOKEN_LIFETIME = 30 * 86400  # 30 days
MIN_LIFETIME, MAX_LIFETIME = 60, 366 * 86400
MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH = 8, 128
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def is_domain_name(name: str) -> bool:
    """A DNS name with at least two labels, lower case, no scheme or @ (e.g. corp.example)."""
    return bool(DOMAIN.match(name))


@dataclass(frozen=True)
class TenantPolicy:
    access_token_lifetime: int = DEFAULT_ACCESS_TOKEN_LIFETIME
    refresh_token_lifetime: int = DEFAULT_REFRESH_TOKEN_LIFETIME
    password_min_length: int = 10
    password_require_mixed_case: bool = False
    password_require_digit: bool = False
    password_require_symbol: bool = False
    # Empty: any domain. Otherwise a user's email must be at one of these (exact domain match).
    allowed_email_domains: tuple[str, ...] = field(default_factory=tuple)
    # Scope name (lumoauth.ratelimit.SCOPES) -> rate such as "600/min"; absent: the platform's default.
    rate_limits: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        problems = {}
        for name in ("access_token_lifetime", "refresh_token_lifetime"):
            if not MIN_LIFETIME <= getattr(self, name) <= MAX_LIFETIME:
                problems[name] = "Lifetimes are between 60 seconds and a year."
        if not MIN_PASSWORD_LENGTH <= self.password_min_length <= MAX_PASSWORD_LENGTH:
            problems["password_min_length"] = f"Between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters."
        bad = [d for d in self.allowed_email_domains if not is_domain_name(d)]
        if bad:
            problems["allowed_email_domains"] = f"Not a domain name: {', '.join(bad)}."
        rate_problems = ratelimit.check_tenant_rates(self.rate_limits)
        if rate_problems:
            problems["rate_limits"] = [f"{ratelimit.label(k)}: {v}" for k, v in sorted(rate_problems.items())]
        if problems:
            raise ValidationError(problems)

    def email_allowed(self, email: str) -> bool:
        if not self.allowed_email_domains or not email:
            return True
        return email.rpartition("@")[2].lower() in self.allowed_email_domains

    def password_validators(self) -> list:
        """Django's validators (similarity, common, numeric) plus this tenant's length and character rules."""
        validators = [
            v
            for v in password_validation.get_default_password_validators()
            if not isinstance(v, password_validation.MinimumLengthValidator)
        ]
        return [password_validation.MinimumLengthValidator(self.password_min_length), *validators] + (
            [CharacterClassValidator(self)] if self.requires_classes else []
        )

    @property
    def requires_classes(self) -> bool:
        return self.password_require_mixed_case or self.password_require_digit or self.password_require_symbol


class CharacterClassValidator:
    """The tenant's character rules, in Django's password-validator interface."""

    def __init__(self, policy: TenantPolicy):
        self.policy = policy

    def missing(self, password: str) -> list[str]:
        wanted = []
        if self.policy.password_require_mixed_case and not (
            any(c.islower() for c in password) and any(c.isupper() for c in password)
        ):
            wanted.append("upper- and lower-case letters")
        if self.policy.password_require_digit and not any(c.isdigit() for c in password):
            wanted.append("a digit")
        if self.policy.password_require_symbol and all(c.isalnum() for c in password):
            wanted.append("a symbol")
        return wanted

    def validate(self, password: str, user=None) -> None:
        wanted = self.missing(password)
        if wanted:
            raise ValidationError(f"The password must contain {' and '.join(wanted)}.", code="password_classes")

    def get_help_text(self) -> str:
        return "Your password must follow this organization's character rules."


def tenant_policy(tenant: Tenant) -> TenantPolicy:
    stored = (tenant.settings or {}).get("policy") or {}
    known = {f.name for f in fields(TenantPolicy)}
    values = {k: v for k, v in stored.items() if k in known}
    if "allowed_email_domains" in values:
        values["allowed_email_domains"] = tuple(values["allowed_email_domains"])
    return TenantPolicy(**values)


def tenant_rate_limits(tenant: Tenant) -> dict[str, str]:
    """The tenant's own rate limits (settings.LUMOAUTH_TENANT_RATE_LIMITS points the limiter here)."""
    return tenant_policy(tenant).rate_limits


def validate_password_for(tenant: Tenant, password: str, user=None) -> None:
    password_validation.validate_password(password, user, tenant_policy(tenant).password_validators())


def check_email_domain(tenant: Tenant, email: str) -> None:
    policy = tenant_policy(tenant)
    if not policy.email_allowed(email):
        domains = ", ".join(policy.allowed_email_domains)
        raise ValidationError({"email": f"This organization accepts email addresses at {domains} only."})


def update_tenant_policy(
    tenant: Tenant, *, name: str | None = None, policy: TenantPolicy, actor: Ref | None = None, request=None
) -> Tenant:
    """Change the display name and policy (validated as a whole; audited as `tenant.updated`)."""
    policy = TenantPolicy(
        **{
            **asdict(policy),
            "allowed_email_domains": _domains(policy.allowed_email_domains),
            "rate_limits": _rates(policy.rate_limits),
        }
    )
    policy.check()
    before = asdict(tenant_policy(tenant))
    settings = dict(tenant.settings or {})
    settings["policy"] = {**asdict(policy), "allowed_email_domains": list(policy.allowed_email_domains)}
    changes = {"settings": settings} | ({"name": name} if name is not None and name != tenant.name else {})
    changed = sorted(k for k, v in asdict(policy).items() if before[k] != v)
    return update_tenant(tenant, actor=actor, request=request, details={"policy": changed}, **changes)


def _rates(rates: dict) -> dict[str, str]:
    """Blank values dropped (the platform default applies), valid ones written canonically."""
    cleaned = {}
    for name, text in rates.items():
        text = str(text).strip()
        if text:
            try:
                cleaned[name] = str(ratelimit.parse_rate(text) or text)
            except ValueError:
                cleaned[name] = text  # check() names the problem
    return cleaned


def _domains(domains) -> tuple[str, ...]:
    return tuple(dict.fromkeys(d.strip().lower().lstrip("@") for d in domains if d.strip()))
