import pytest
from django.test import Client

from lumoauth.events.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_account_is_throttled_after_repeated_failures(settings, tenant, make_user, sign_in):
    settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_ACCOUNT = 3
    make_user(tenant, "alice")
    for _ in range(3):
        assert sign_in(Client(), tenant, "alice", "wrong-password").status_code == 200
    # Even the right password is refused while the account is throttled.
    blocked = sign_in(Client(), tenant, "alice", PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert b"Too many failed attempts" in blocked.content
    assert AuditEvent.objects.filter(action="login.failed", outcome="denied").count() == 1


def test_unknown_account_is_throttled_the_same_way(settings, tenant, sign_in):
    settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_ACCOUNT = 2
    for _ in range(2):
        sign_in(Client(), tenant, "ghost", "wrong-password")
    assert sign_in(Client(), tenant, "ghost", "wrong-password").status_code == 429


def test_ip_is_throttled_across_accounts(settings, tenant, make_user, sign_in):
    settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_IP = 4
    make_user(tenant, "alice")
    for n in range(4):
        sign_in(Client(), tenant, f"user{n}", "wrong-password")
    assert sign_in(Client(), tenant, "alice", PASSWORD).status_code == 429
    # Another address is not affected.
    other_ip = Client(REMOTE_ADDR="10.1.2.3")
    assert sign_in(other_ip, tenant, "alice", PASSWORD).status_code == 302


def test_success_resets_the_account_counter(settings, tenant, make_user, sign_in):
    settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_ACCOUNT = 3
    make_user(tenant, "alice")
    for _ in range(2):
        sign_in(Client(), tenant, "alice", "wrong-password")
    assert sign_in(Client(), tenant, "alice").status_code == 302
    for _ in range(2):
        sign_in(Client(), tenant, "alice", "wrong-password")
    assert sign_in(Client(), tenant, "alice").status_code == 302


def test_throttle_is_per_tenant(settings, tenant, other_tenant, make_user, sign_in):
    settings.LUMOAUTH_SIGNIN_MAX_FAILURES_PER_ACCOUNT = 2
    make_user(tenant, "alice")
    make_user(other_tenant, "alice")
    for _ in range(2):
        sign_in(Client(), tenant, "alice", "wrong-password")
    assert sign_in(Client(), tenant, "alice").status_code == 429
    assert sign_in(Client(), other_tenant, "alice").status_code == 302
