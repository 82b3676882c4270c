"""Delivery through a real Celery worker consuming from a real redis-server (the test's own), to a
real HTTP receiver; signatures verified by the third-party `standardwebhooks` library."""

import pytest
from django.db import connections
from standardwebhooks.webhooks import Webhook

from lumoauth.webhooks.models import Delivery, DeliveryAttempt
from lumoauth.webhooks.sweep import sweep

pytestmark = pytest.mark.django_db(transaction=True)


def _succeeded(name, args, retval):
    return name == "lumoauth.webhooks.deliver" and retval == "succeeded"


def test_the_worker_delivers_a_signed_event(tenant, make_user, subscribe, receiver, celery_worker):
    subscription, secret = subscribe(tenant, receiver.url, ["user.created"])
    celery_worker.start()
    make_user(tenant, "alice")  # commits; the task goes through Redis to the worker
    (request,) = receiver.wait_for(1)
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "user.created" and payload["data"]["target"]["label"] == "alice"
    celery_worker.tasks.wait_for(_succeeded)
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    assert str(delivery.message.event_id) == request.headers["webhook-id"]


def test_the_worker_retries_after_a_500_and_a_timeout(tenant, make_user, subscribe, receiver, celery_worker, settings):
    settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = [0.3, 0.3, 0.3]
    settings.LUMOAUTH_WEBHOOK_TIMEOUT = 1.0
    receiver.respond((500, 0, b"boom"), (200, 3.0, b"too slow"))
    subscription, secret = subscribe(tenant, receiver.url, ["user.created"])
    celery_worker.start()
    make_user(tenant, "alice")
    requests = receiver.wait_for(3)
    celery_worker.tasks.wait_for(_succeeded)
    for request in requests:
        Webhook(secret).verify(request.body, request.headers)  # each attempt freshly signed
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    log = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.status_code, a.error) for a in log] == [
        (500, "The receiver answered 500."),
        (None, "timed out after 1s"),
        (200, ""),
    ]


def test_the_sweep_delivers_what_was_written_while_the_broker_was_down(
    tenant, make_user, subscribe, receiver, redis_server, celery_worker, settings
):
    subscription, secret = subscribe(tenant, receiver.url, ["user.created"])
    redis_server.stop()
    make_user(tenant, "alice")  # the change commits; queuing its delivery fails, and must not fail the change
    delivery = Delivery.objects.get(subscription=subscription)
    assert delivery.status == "pending" and delivery.attempts == 0
    redis_server.start()
    celery_worker.start()
    settings.LUMOAUTH_WEBHOOK_REQUEUE_AFTER = 0  # do not wait the usual minutes before queuing again
    assert sweep() == 1
    (request,) = receiver.wait_for(1)
    assert Webhook(secret).verify(request.body, request.headers)["data"]["target"]["label"] == "alice"
    celery_worker.tasks.wait_for(_succeeded)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    connections.close_all()
