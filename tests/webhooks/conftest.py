"""Webhook fixtures: a real HTTP receiver on 127.0.0.1, a real redis-server per test, a real Celery
worker (in a thread) consuming from it, and in-process (eager) Celery for the rest."""

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from lumoauth.events.api import Ref
from lumoauth.webhooks.subscriptions import create_subscription

from .receiver import serving_receiver

ADMIN = Ref("user", "1", "boss")


@pytest.fixture
def receiver():
    with serving_receiver() as state:
        yield state


@pytest.fixture
def allow_private(settings):
    """The receiver listens on 127.0.0.1, which the SSRF policy refuses unless the operator allows it."""
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True
    return settings


@pytest.fixture
def fast_retries(settings):
    settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = [0.3, 0.3, 0.3]
    settings.LUMOAUTH_WEBHOOK_TIMEOUT = 1.0
    return settings


@pytest.fixture
def instant_retries(settings):
    """In-process mode retries through the sweep; with no delay the next sweep finds them due."""
    settings.LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = [0, 0, 0]
    return settings


@pytest.fixture
def eager():
    """Tasks in-process (the embedded default), whether or not REDIS_URL is set."""
    from lumoauth.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def subscribe(allow_private):
    def make(tenant, url, event_types=("user.*",), **fields):
        return create_subscription(tenant, url, list(event_types), actor=ADMIN, **fields)

    return make


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    def __init__(self, binary: str, directory):
        self.binary, self.directory, self.port, self.process = binary, directory, _free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    binary = shutil.which("redis-server") or next((p for p in ("/usr/bin/redis-server",) if os.path.exists(p)), None)
    if binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    server = RedisServer(binary, tmp_path)
    server.start()
    yield server
    server.stop()


class TaskLog:
    """Delivery tasks the worker finished (name, args, return value), to wait on without polling the
    database while the worker writes to it."""

    def __init__(self):
        self.done: list[tuple[str, tuple, object]] = []
        self.changed = threading.Condition()

    def __call__(self, sender=None, task=None, args=None, retval=None, **kwargs):
        if getattr(task.request, "is_eager", False):
            return
        connections.close_all()  # the worker thread's connections: the test database is dropped later
        with self.changed:
            self.done.append((task.name, tuple(args or ()), retval))
            self.changed.notify_all()

    def wait_for(self, predicate, timeout: float = 30):
        with self.changed:
            if not self.changed.wait_for(lambda: any(predicate(*entry) for entry in self.done), timeout):
                raise AssertionError(f"no finished task matched; finished: {self.done}")


@pytest.fixture
def celery_app(redis_server, settings):
    """A Celery app like lumoauth.celery's but with the test's own Redis as broker, current in this thread."""
    from celery import _state

    import lumoauth.webhooks.tasks  # noqa: F401 (registers the shared tasks with every app)
    from lumoauth.celery import app as main_app

    default = _state.default_app
    app = Celery("lumoauth-test")  # its Django fixup (and the test worker) make it the default app
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(broker_url=redis_server.url, task_always_eager=False, broker_connection_retry_on_startup=True)
    app.set_current()
    yield app
    _state.set_default_app(default)  # other threads (live_server) use lumoauth's app again
    main_app.set_current()
    app.close()


@pytest.fixture
def celery_worker(celery_app, transactional_db):
    """Starts a real worker (solo pool, in a thread) on the test's Redis; yields its TaskLog."""
    log = TaskLog()
    task_postrun.connect(log, weak=False)

    class Worker:
        tasks = log
        _running = None

        def start(self):
            self._running = start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30)
            self._running.__enter__()

        def stop(self):
            if self._running is not None:
                self._running.__exit__(None, None, None)
                self._running = None

    worker = Worker()
    yield worker
    worker.stop()
    task_postrun.disconnect(log)
