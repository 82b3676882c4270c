"""A tenant's policy: defaults, validation, password rules and email domains."""

import pytest
from django.core.exceptions import ValidationError

from lumoauth.events.models import AuditEvent
from tenants.policy import TenantPolicy, check_email_domain, tenant_policy, update_tenant_policy, validate_password_for

pytestmark = pytest.mark.django_db


def test_defaults_when_nothing_is_set(tenant):
    policy = tenant_policy(tenant)
    assert policy == TenantPolicy()
    assert (policy.access_token_lifetime, policy.refresh_token_lifetime, policy.password_min_length) == (
        3600,
        2592000,
        10,
    )
    assert policy.email_allowed("anyone@anywhere.example")


def test_update_normalises_validates_and_audits(tenant):
    update_tenant_policy(
        tenant, name="Acme Inc.", policy=TenantPolicy(allowed_email_domains=(" @ACME.example ", "acme.example", ""))
    )
    tenant.refresh_from_db()
    assert tenant.name == "Acme Inc."
    assert tenant_policy(tenant).allowed_email_domains == ("acme.example",)
    event = AuditEvent.objects.get(tenant=tenant, action="tenant.updated")
    assert event.details == {"fields": ["name", "settings"], "policy": ["allowed_email_domains"]}
    for bad in (
        TenantPolicy(access_token_lifetime=10),
        TenantPolicy(refresh_token_lifetime=400 * 86400),
        TenantPolicy(password_min_length=6),
        TenantPolicy(allowed_email_domains=("localhost",)),
        TenantPolicy(allowed_email_domains=("a..b.com",)),
    ):
        with pytest.raises(ValidationError):
            update_tenant_policy(tenant, policy=bad)
    assert AuditEvent.objects.filter(tenant=tenant, action="tenant.updated").count() == 1


def test_unknown_stored_keys_are_ignored(tenant):
    tenant.settings = {"policy": {"password_min_length": 12, "retired_option": True}, "other": 1}
    assert tenant_policy(tenant).password_min_length == 12


def test_password_rules(tenant):
    update_tenant_policy(
        tenant,
        policy=TenantPolicy(password_min_length=12, password_require_mixed_case=True, password_require_digit=True),
    )
    with pytest.raises(ValidationError, match="at least 12"):
        validate_password_for(tenant, "Short1x")
    with pytest.raises(ValidationError, match="upper- and lower-case letters and a digit"):
        validate_password_for(tenant, "lowercase letters only")
    with pytest.raises(ValidationError, match="a digit"):
        validate_password_for(tenant, "Mixed Case Letters")
    with pytest.raises(ValidationError, match="too common"):
        validate_password_for(tenant, "Password1234")  # Django's common-password list still applies
    validate_password_for(tenant, "Tr0ubadour-horse-staple")
    update_tenant_policy(tenant, policy=TenantPolicy(password_require_symbol=True))
    with pytest.raises(ValidationError, match="a symbol"):
        validate_password_for(tenant, "NoSymbolsHere2024")
    validate_password_for(tenant, "with symbols: yes!")


def test_email_domains(tenant, other_tenant):
    update_tenant_policy(tenant, policy=TenantPolicy(allowed_email_domains=("acme.example",)))
    check_email_domain(tenant, "dana@ACME.example")
    check_email_domain(tenant, "")  # no email at all is not a domain problem
    for refused in ("dana@evil.example", "dana@sub.acme.example", "dana@acme.example.evil.com"):
        with pytest.raises(ValidationError) as caught:
            check_email_domain(tenant, refused)
        assert "email" in caught.value.message_dict
    check_email_domain(other_tenant, "dana@evil.example")  # another tenant's policy is its own


def test_directory_services_enforce_the_policy(tenant, other_tenant):
    from tenants.services.users import create_user, set_password, update_user

    update_tenant_policy(tenant, policy=TenantPolicy(password_min_length=16, allowed_email_domains=("acme.example",)))
    with pytest.raises(ValidationError) as refused:
        create_user(tenant, "eve", email="eve@evil.example")
    assert "email" in refused.value.message_dict
    with pytest.raises(ValidationError, match="at least 16"):
        create_user(tenant, "dana", email="dana@acme.example", password="fifteen-chars-x")
    dana = create_user(tenant, "dana", email="dana@acme.example", password="sixteen-chars-ok")
    with pytest.raises(ValidationError):
        update_user(dana, email="dana@evil.example")
    dana.refresh_from_db()
    assert dana.email == "dana@acme.example"
    with pytest.raises(ValidationError, match="at least 16"):
        set_password(dana, "too-short-pass")
    # The other tenant keeps the platform defaults.
    create_user(other_tenant, "eve", email="eve@evil.example", password="ten-chars-x")


def test_federated_sign_in_is_refused_outside_the_allowed_domains(tenant):
    from tenants.federation import ExternalIdentity, ProvisioningError, sign_in_externally
    from tenants.models import User

    update_tenant_policy(tenant, policy=TenantPolicy(allowed_email_domains=("acme.example",)))
    identity = ExternalIdentity(
        connection="saml:1", connection_label="Corp", subject="u-1", claims={"email": "eve@partner.example"}
    )
    with pytest.raises(ProvisioningError, match="acme.example"):
        sign_in_externally(tenant, identity, link_verified_email=False)
    assert not User.objects.filter(tenant=tenant).exists()
    ok = ExternalIdentity(
        connection="saml:1", connection_label="Corp", subject="u-2", claims={"email": "dana@acme.example"}
    )
    assert sign_in_externally(tenant, ok, link_verified_email=False).email == "dana@acme.example"
