"""A delivery is attempted by one worker at a time: the claim (SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL, a conditional UPDATE everywhere) and its lease."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from lumoauth.webhooks.delivery import attempt_delivery, claim
from lumoauth.webhooks.models import Delivery
from lumoauth.webhooks.sweep import due_deliveries

pytestmark = pytest.mark.django_db


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_expires(tenant, make_user, subscribe, receiver):
    subscription, _ = subscribe(tenant, receiver.url, ["user.created"])
    make_user(tenant, "alice")  # the test transaction never commits: nothing is queued
    delivery = Delivery.objects.get(subscription=subscription)
    first = claim(delivery.pk)
    assert first is not None and first[0].attempts == 1
    assert claim(delivery.pk) is None  # another worker, or the same task delivered twice
    later = timezone.now() + timedelta(hours=1)
    assert delivery.pk not in due_deliveries(timezone.now(), 10)  # claimed: the sweep leaves it alone
    # The worker died mid-attempt: once its lease has expired, the sweep and a new claim take over.
    Delivery.objects.filter(pk=delivery.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert delivery.pk in due_deliveries(later, 10)
    second = claim(delivery.pk)
    assert second is not None and second[0].attempts == 2 and second[1] != first[1]


def test_a_delivery_that_is_not_due_or_is_done_is_not_claimed(tenant, make_user, subscribe, receiver):
    subscription, _ = subscribe(tenant, receiver.url, ["user.created"])
    make_user(tenant, "alice")
    delivery = Delivery.objects.get(subscription=subscription)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=1))
    assert claim(delivery.pk) is None
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now(), status="succeeded")
    assert claim(delivery.pk) is None and attempt_delivery(delivery.pk) is None
    assert claim(10**12) is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_delivery_send_it_once(tenant, make_user, subscribe, receiver):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (CI); SQLite serialises the whole database")
    receiver.respond((200, 0.5, b"slow enough to overlap"))
    subscription, _ = subscribe(tenant, receiver.url, ["user.created"])
    from lumoauth.celery import app

    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        # Not eager and no worker: the task queued on commit waits in a queue nobody reads (Redis or memory).
        make_user(tenant, "alice")
    finally:
        app.conf.task_always_eager = eager
    delivery = Delivery.objects.get(subscription=subscription)
    start, results = threading.Barrier(2), []

    def worker():
        try:
            start.wait()
            results.append(attempt_delivery(delivery.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    time.sleep(0.2)
    assert sorted(results, key=str) == [None, "succeeded"]
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
