"""Attempting one delivery: claim it, send it (signed webhook POST or email), log the attempt, then
succeed, schedule the next attempt (exponential backoff with jitter) or fail for good.

The claim makes two workers racing on the same delivery harmless: on PostgreSQL the row is locked
with SELECT ... FOR UPDATE SKIP LOCKED (a worker never waits for another's claim), and everywhere
the claim is a conditional UPDATE that only one of them can win. The claim is a lease: a worker that
dies mid-attempt leaves it to expire, then the sweep queues the delivery again. Delivery is at least
once: a worker dying after the receiver answered but before the attempt is logged means one more
attempt, with the same `webhook-id`, which receivers use to deduplicate.
"""

import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from lumoauth import outbound
from lumoauth.encryption import KeyDecryptionError

from . import metrics
from .models import Delivery, DeliveryAttempt
from .outbox import eager, enqueue
from .secrets import decrypt_credential, decrypt_secret

log = logging.getLogger(__name__)

JITTER = 0.2  # each delay is drawn from ±20 % of the schedule's value, so retries do not stampede
MAX_COUNTDOWN = 900  # longer waits are left to the sweep (a broker holds delayed tasks in worker memory)
USER_AGENT = "LumoAuth-Webhooks/1"


@dataclass
class AttemptResult:
    ok: bool
    status_code: int | None = None
    latency_ms: int = 0
    excerpt: str = ""
    error: str = ""


def timeout() -> float:
    return float(settings.LUMOAUTH_WEBHOOK_TIMEOUT)


def lease_duration() -> timedelta:
    # Longer than any attempt can take (connect + read + body deadline), with a wide margin.
    return timedelta(seconds=3 * timeout() + 60)


def retry_schedule() -> list[float]:
    return [float(s) for s in settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE]


def claim(delivery_id: int) -> tuple[Delivery, uuid.UUID] | None:
    """Take the delivery for one attempt, or None when it is not due, done, or claimed by another worker."""
    now = timezone.now()
    lease = uuid.uuid4()
    claimable = Q(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now) & (
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            if not list(Delivery.objects.select_for_update(skip_locked=True).filter(claimable).values_list("pk")):
                return None
        claimed = Delivery.objects.filter(claimable).update(
            locked_until=now + lease_duration(), lease=lease, attempts=F("attempts") + 1
        )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("message", "message__tenant", "subscription").get(pk=delivery_id)
    return delivery, lease


def signed_request(subscription, message, *, now: datetime | None = None) -> tuple[bytes, dict]:
    """The body and the Standard Webhooks headers of one attempt (a fresh timestamp each time)."""
    body = json.dumps(message.payload, separators=(",", ":"), ensure_ascii=False)
    now = now or datetime.now(UTC)
    msg_id = str(message.event_id)
    secret = decrypt_secret(subscription.secret_encrypted, subscription.uid)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        # v1,<base64 HMAC-SHA256 of "id.timestamp.body"> (Standard Webhooks, "Signature scheme").
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    return body.encode(), headers


def send_webhook(delivery: Delivery) -> AttemptResult:
    subscription = delivery.subscription
    if subscription is None or not subscription.active:
        return AttemptResult(False, error="The subscription is disabled.")
    try:
        body, headers = signed_request(subscription, delivery.message)
    except KeyDecryptionError:
        return AttemptResult(False, error="The signing secret cannot be decrypted (check LUMOAUTH_KEY_ENCRYPTION_KEY).")
    return _post(subscription.url, body, headers)


def send_callback(delivery: Delivery) -> AttemptResult:
    """A POST of the message's payload to a client's URL with its bearer token (RFC 6750 §2.1), as
    the CIBA ping is (CIBA Core §10.2): no signature, the token is the client's own credential."""
    try:
        bearer = decrypt_credential(delivery.credential_encrypted or b"", delivery.message.event_id)
    except KeyDecryptionError:
        return AttemptResult(False, error="The callback token cannot be decrypted (check LUMOAUTH_KEY_ENCRYPTION_KEY).")
    body = json.dumps(delivery.message.payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Authorization": f"Bearer {bearer}"}
    return _post(delivery.url, body, headers)


def _post(url: str, body: bytes, headers: dict) -> AttemptResult:
    try:
        response = outbound.fetch(
            url, method="POST", data=body, headers=headers, timeout=timeout(), max_bytes=DeliveryAttempt.EXCERPT_BYTES
        )
    except outbound.OutboundRefused as exc:
        return AttemptResult(False, error=f"Refused by the outbound policy: {exc}"[:500])
    except outbound.OutboundError as exc:
        return AttemptResult(False, error=str(exc)[:500])
    excerpt = response.body.decode("utf-8", errors="replace")
    error = "" if response.ok else f"The receiver answered {response.status_code}."
    return AttemptResult(response.ok, response.status_code, response.elapsed_ms, excerpt, error)


def send_email(delivery: Delivery) -> AttemptResult:
    """A notification by email (notifications.py puts subject and text in the payload)."""
    data = delivery.message.payload.get("data", {})
    started = timezone.now()
    try:
        EmailMessage(
            subject=str(data.get("subject", ""))[:200] or delivery.message.event_type,
            body=str(data.get("text", "")),
            to=[delivery.recipient],
        ).send(fail_silently=False)
    except Exception as exc:  # SMTP errors come in many classes (smtplib, socket, ssl)
        return AttemptResult(False, error=f"Email not sent: {type(exc).__name__}: {exc}"[:500])
    latency = int((timezone.now() - started).total_seconds() * 1000)
    return AttemptResult(True, latency_ms=latency)


def next_delay(attempt_in_round: int) -> float | None:
    """Seconds before the next attempt after `attempt_in_round` failed ones, or None: give up."""
    schedule = retry_schedule()
    if attempt_in_round > len(schedule):
        return None
    base = schedule[attempt_in_round - 1]
    return max(0.0, base * random.uniform(1 - JITTER, 1 + JITTER))


def _finish(
    delivery: Delivery, lease: uuid.UUID, result: AttemptResult, queue_retries: bool
) -> tuple[str, float | None]:
    """Log the attempt and settle the delivery; returns its status and the countdown of a retry to queue."""
    now = timezone.now()
    delay = None
    if result.ok:
        outcome = Delivery.Status.SUCCEEDED
        fields = {"status": outcome, "delivered_at": now}
    else:
        delay = next_delay(delivery.attempts - delivery.round_started_at_attempt)
        if delay is None:
            outcome, fields = Delivery.Status.FAILED, {"status": Delivery.Status.FAILED}
        else:
            due = now + timedelta(seconds=delay)
            outcome = Delivery.Status.PENDING
            # A retry queued with a countdown counts as queued until it is due; others wait for the sweep.
            if not (queue_retries and delay <= MAX_COUNTDOWN):
                delay = None
            fields = {"next_attempt_at": due, "enqueued_at": due if delay is not None else None}
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery_id=delivery.pk,
            number=delivery.attempts,
            status_code=result.status_code,
            latency_ms=result.latency_ms,
            response_excerpt=result.excerpt[: DeliveryAttempt.EXCERPT_BYTES],
            error=result.error[:500],
        )
        Delivery.objects.filter(pk=delivery.pk, lease=lease).update(
            locked_until=None,
            lease=None,
            last_attempt_at=now,
            last_status_code=result.status_code,
            last_error=result.error[:500],
            **fields,
        )
    return outcome, delay


def attempt_delivery(delivery_id: int) -> str | None:
    """One attempt at a delivery, if it is due and nobody else is at it. Returns its status after the
    attempt (None: not attempted). Network and receiver failures never raise."""
    claimed = claim(delivery_id)
    if claimed is None:
        return None
    delivery, lease = claimed
    if delivery.channel == Delivery.Channel.EMAIL:
        result = send_email(delivery)
    elif delivery.channel == Delivery.Channel.CALLBACK:
        result = send_callback(delivery)
    else:
        result = send_webhook(delivery)
    # In-process (eager) mode would run a task at once whatever its countdown: retries wait for the sweep.
    status, delay = _finish(delivery, lease, result, queue_retries=not eager())
    metrics.count_attempt(status)
    if status == Delivery.Status.PENDING and delay is not None:
        enqueue([delivery.pk], countdown=delay + 0.1)  # not before it is due, even by a clock tick
    if status != Delivery.Status.SUCCEEDED:
        log.info("webhook delivery %s attempt %s: %s", delivery.pk, delivery.attempts, result.error or status)
    return status
