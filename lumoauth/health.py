"""Health endpoints for load balancers and orchestrators.

/healthz: the process answers (liveness; no dependency is touched, so a database outage does not
get every instance restarted). /readyz: the dependencies answer - the database, Redis (cache and
Celery broker) when REDIS_URL is set - as JSON with one entry per check; 200 when all pass, 503
otherwise. Errors are named by type only: the probe may be public, connection strings are not.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

TIMEOUT = 2.0  # seconds per check: a probe must answer before the orchestrator gives up


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    checks = {"database": _run(_database)}
    if settings.REDIS_URL:
        checks["redis"] = _run(_redis)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["celery_broker"] = {"status": "skipped", "detail": "no broker: tasks run in-process"}
    else:
        checks["celery_broker"] = _run(_broker)
    ready = all(check["status"] != "fail" for check in checks.values())
    return JsonResponse({"status": "ok" if ready else "fail", "checks": checks}, status=200 if ready else 503)


def _run(check: Callable[[], None]) -> dict:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        return {"status": "fail", "error": type(exc).__name__, "duration_ms": _ms(started)}
    return {"status": "ok", "duration_ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    try:
        client.ping()
    finally:
        client.close()


def _broker() -> None:
    from lumoauth.celery import app

    with app.connection_for_write(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=TIMEOUT)
