import pytest
from django.db import connection, transaction

from lumoauth.events.api import AuditEvent, AuditLogIsAppendOnly, Ref, record
from tenants.models import Tenant
from tenants.services.groups import add_member, create_group, delete_group, remove_member, update_group
from tenants.services.tenants import create_tenant, set_tenant_status
from tenants.services.users import create_user, delete_user, set_active, update_user

pytestmark = pytest.mark.django_db


def actions(tenant=None):
    qs = AuditEvent.objects.order_by("id")
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    return list(qs.values_list("action", flat=True))


def test_record_stores_everything_it_is_given(tenant, rf):
    request = rf.post("/t/acme/login", HTTP_USER_AGENT="pytest-agent/1.0", REMOTE_ADDR="203.0.113.9")
    event = record(
        "thing.done",
        tenant=tenant,
        actor=Ref("user", "7", "alice"),
        target=Ref("group", "3", "ops"),
        request=request,
        outcome="failure",
        details={"why": "because"},
    )
    event.refresh_from_db()
    assert (event.action, event.outcome, event.actor_type, event.actor_id, event.actor_label) == (
        "thing.done",
        "failure",
        "user",
        "7",
        "alice",
    )
    assert (event.target_type, event.target_id, event.target_label) == ("group", "3", "ops")
    assert event.ip_address == "203.0.113.9" and event.user_agent == "pytest-agent/1.0"
    assert event.details == {"why": "because"} and event.occurred_at is not None


def test_event_rolls_back_with_the_change(tenant):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            create_user(tenant, "ghost", password="a-long-enough-password")
            raise RuntimeError("the change failed")
    assert "user.created" not in actions(tenant)
    assert not tenant.users.exists()


def test_model_refuses_update_and_delete(tenant):
    event = record("thing.done", tenant=tenant)
    event.action = "thing.undone"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="thing.undone")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.action == "thing.done"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_database_refuses_raw_update_and_delete(tenant):
    from django.db import DatabaseError

    event = record("thing.done", tenant=tenant)
    for sql in (
        "UPDATE events_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM events_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "thing.done"


def test_directory_changes_are_recorded(tenant):
    user = create_user(tenant, "alice", email="alice@acme.example", password="a-long-enough-password")
    update_user(user, name="Alice L.")
    update_user(user, name="Alice L.")  # no change, no event
    group = create_group(tenant, "Ops")
    add_member(group, user)
    add_member(group, user)  # already a member, no event
    update_group(group, name="Operations")
    remove_member(group, user)
    set_active(user, False)
    delete_group(group)
    delete_user(user)
    assert actions(tenant) == [
        "tenant.created",
        "signing_key.created",  # the tenant's active key
        "signing_key.created",  # and its next key
        "user.created",
        "user.updated",
        "group.created",
        "membership.added",
        "group.updated",
        "membership.removed",
        "user.deactivated",
        "group.deleted",
        "user.deleted",
    ]
    updated = AuditEvent.objects.get(action="user.updated")
    assert updated.details == {"fields": ["name"]} and updated.target_label == "alice"
    # The record of a deleted user stays readable.
    assert AuditEvent.objects.get(action="user.deleted").target_label == "alice"


def test_tenant_lifecycle_is_recorded():
    tenant = create_tenant("initech", "Initech", actor=Ref("operator", "1", "root"))
    set_tenant_status(tenant, Tenant.Status.SUSPENDED)
    set_tenant_status(tenant, Tenant.Status.ACTIVE)
    assert actions(tenant) == [
        "tenant.created",
        "signing_key.created",
        "signing_key.created",
        "tenant.suspended",
        "tenant.activated",
    ]
    assert AuditEvent.objects.get(action="tenant.created").actor_label == "root"
    assert {e.actor_label for e in AuditEvent.objects.filter(action="signing_key.created")} == {"root"}


def test_sign_in_events_name_tenant_actor_and_ip(client, tenant, make_user, sign_in):
    user = make_user(tenant, "alice")
    sign_in(client, tenant, "alice", "wrong-password", HTTP_USER_AGENT="ua")
    sign_in(client, tenant, "alice")
    client.post("/t/acme/logout")
    failed, succeeded, logout = AuditEvent.objects.filter(
        tenant=tenant, action__in=["login.failed", "login.succeeded", "logout"]
    ).order_by("id")
    assert failed.outcome == "failure" and failed.actor_type == "anonymous" and failed.target_label == "alice"
    assert succeeded.actor_id == str(user.pk) and succeeded.details["method"] == "password"
    assert logout.actor_id == str(user.pk)
    assert {failed.ip_address, succeeded.ip_address, logout.ip_address} == {"127.0.0.1"}
