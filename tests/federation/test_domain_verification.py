"""Domain verification: the TXT record the portal shows, checked with dnspython against a DNS server
run by the test; only a verified claim routes sign-ins."""

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from lumoauth.events.models import AuditEvent
from tenants.domains import dns_check
from tenants.domains.claims import claim_domain, delete_claim, is_verified, verify_claim
from tenants.domains.models import DomainClaim

pytestmark = pytest.mark.django_db


def test_claim_is_created_once_with_a_record_to_publish(tenant):
    claim = claim_domain(tenant, " Corp.Example. ")
    assert claim.domain == "corp.example" and len(claim.token) >= 32 and not claim.is_verified
    assert claim.record_name == "_lumoauth.corp.example"
    assert claim.record_value == f"lumoauth-verification={claim.token}"
    assert claim_domain(tenant, "corp.example") == claim  # the same claim, the same token
    assert AuditEvent.objects.filter(tenant=tenant, action="domain.claimed").count() == 1
    for bad in ("corp", "user@corp.example", "https://corp.example", "-corp.example", ""):
        with pytest.raises(ValidationError):
            claim_domain(tenant, bad)


def test_record_under_lumoauth_label_verifies(tenant, dns_server):
    claim = claim_domain(tenant, "corp.example")
    assert verify_claim(claim) is False  # nothing published yet
    claim.refresh_from_db()
    assert not claim.is_verified and "No TXT record" in claim.last_error and claim.last_checked_at
    failed = AuditEvent.objects.get(tenant=tenant, action="domain.verification_failed")
    assert failed.outcome == "failure" and failed.target_label == "corp.example"

    dns_server.publish("_lumoauth.corp.example", "v=spf1 -all", claim.record_value)
    assert verify_claim(claim) is True
    claim.refresh_from_db()
    assert claim.is_verified and claim.last_error == "" and is_verified(tenant, "CORP.example")
    assert AuditEvent.objects.filter(tenant=tenant, action="domain.verified", outcome="success").count() == 1
    assert "_lumoauth.corp.example." in dns_server.queries


def test_record_at_the_domain_itself_verifies(tenant, dns_server):
    claim = claim_domain(tenant, "apex.example")
    dns_server.publish("apex.example", claim.record_value)
    assert verify_claim(claim) is True


def test_wrong_token_or_another_tenants_token_does_not_verify(tenant, other_tenant, dns_server):
    mine = claim_domain(tenant, "corp.example")
    theirs = claim_domain(other_tenant, "corp.example")
    assert mine.token != theirs.token
    dns_server.publish("_lumoauth.corp.example", theirs.record_value, "lumoauth-verification=guess")
    assert verify_claim(mine) is False
    assert verify_claim(theirs) is True
    assert not is_verified(tenant, "corp.example") and is_verified(other_tenant, "corp.example")


def test_unanswered_lookup_fails_softly(tenant, dns_server):
    claim = claim_domain(tenant, "slow.example")
    dns_server.silent = True
    assert verify_claim(claim) is False
    claim.refresh_from_db()
    assert "DNS lookup failed" in claim.last_error and not claim.is_verified


def test_verified_stays_verified_and_deleting_the_claim_stops_it(tenant, dns_server):
    claim = claim_domain(tenant, "corp.example")
    dns_server.publish("_lumoauth.corp.example", claim.record_value)
    assert verify_claim(claim)
    dns_server.records.clear()
    verify_claim(claim)
    claim.refresh_from_db()
    assert claim.is_verified  # a later failed check does not unverify (the record may be removed)
    delete_claim(claim)
    assert not DomainClaim.objects.exists() and not is_verified(tenant, "corp.example")
    assert AuditEvent.objects.filter(tenant=tenant, action="domain.claim_deleted").exists()


def test_resolver_settings(settings):
    settings.LUMOAUTH_DNS_NAMESERVERS = ["127.0.0.1:5353", "[::1]:5354", "192.0.2.1"]
    resolver = dns_check.make_resolver()
    assert [(ns.address, ns.port) for ns in resolver.nameservers] == [
        ("127.0.0.1", 5353),
        ("::1", 5354),
        ("192.0.2.1", 53),
    ]
    settings.LUMOAUTH_DNS_NAMESERVERS = ["not-an-ip"]
    with pytest.raises(ImproperlyConfigured):
        dns_check.make_resolver()


def test_misconfigured_resolver_is_a_failed_check_not_an_error(tenant, settings):
    settings.LUMOAUTH_DNS_NAMESERVERS = ["not-an-ip"]
    claim = claim_domain(tenant, "corp.example")
    assert verify_claim(claim) is False
    claim.refresh_from_db()
    assert "DNS settings are invalid" in claim.last_error
