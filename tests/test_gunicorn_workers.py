"""Gunicorn with several workers (gunicorn.conf.py as the image runs it): /metrics sums what every
worker counted (prometheus_client multiprocess mode), stale values are wiped at start, and
gunicorn's and Django's log lines are JSON."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.redis_process import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


@pytest.fixture
def gunicorn(tmp_path):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed in this environment")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale values of an earlier run")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
    env.update(
        LUMOAUTH_VAR_DIR=str(tmp_path / "var"),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        LOG_FORMAT="json",
        SECRET_KEY="gunicorn-test-" + "k" * 50,
        ALLOWED_HOSTS="127.0.0.1",
    )
    stdout, stderr = open(tmp_path / "stdout", "w+"), open(tmp_path / "stderr", "w+")
    process = subprocess.Popen(
        [str(GUNICORN), "lumoauth.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=stderr,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=10)
                break
            except requests.RequestException:  # not listening yet, or the worker still booting
                assert process.poll() is None and time.monotonic() < deadline, Path(tmp_path / "stderr").read_text()
                time.sleep(0.2)
        yield base, metrics_dir, tmp_path
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        stdout.close()
        stderr.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)


def healthz_count(base: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == "lumoauth_http_requests":
            return sum(s.value for s in family.samples if s.labels["route"] == "healthz" and s.name.endswith("_total"))
    return 0.0


def test_metrics_are_summed_over_the_workers(gunicorn):
    base, metrics_dir, _tmp = gunicorn
    assert not (metrics_dir / "counter_1.db").exists()  # wiped when gunicorn started
    start = healthz_count(base)
    sent = 0
    # New connections until both workers have answered some (each keeps its own file).
    while len(list(metrics_dir.glob("counter_*.db"))) < 2 or sent < 20:
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        sent += 1
        assert sent < 500, "only one worker ever answered"
    assert healthz_count(base) == start + sent


def test_gunicorn_and_django_log_json(gunicorn):
    base, _metrics_dir, tmp_path = gunicorn
    response = requests.get(f"{base}/", timeout=10)
    assert response.status_code == 200
    time.sleep(0.5)  # let the worker's stream reach the file
    # Django's records and gunicorn's own, one JSON object per line, all on stderr (stdout stays empty).
    lines = [json.loads(line) for line in (tmp_path / "stderr").read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "lumoauth.access"]
    assert [line["request_id"] for line in access] == [response.headers["X-Request-ID"]]
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    assert (tmp_path / "stdout").read_text() == ""
