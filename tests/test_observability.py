"""Observability: /metrics parsed by prometheus_client's own parser (counters move after real
requests), who may scrape it, request IDs in responses, JSON log records and Celery tasks,
/healthz and /readyz."""

import base64
import io
import json
import logging
import queue
import re

import pytest
import requests
from celery import Celery
from django.http import HttpResponse
from django.test import Client as HttpClient
from django.test import RequestFactory
from prometheus_client import REGISTRY, Counter
from prometheus_client.parser import text_string_to_metric_families

from lumoauth.observability.logs import JsonFormatter
from lumoauth.observability.middleware import RequestObservabilityMiddleware
from lumoauth.observability.request_id import RequestIdFilter, current_request_id
from oauth.models import AuthMethod, GrantType
from oauth.services.clients import ClientSpec, create_client
from tests.redis_process import free_port, redis_server
from tests.test_settings import run

pytestmark = pytest.mark.django_db
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def scrape(http=None) -> dict:
    response = (http or HttpClient()).get("/metrics")
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return families(response.content.decode())


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(scraped: dict, family: str, sample: str, **labels) -> float:
    if family not in scraped:
        return 0.0
    return sum(
        s.value
        for s in scraped[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def token_request(tenant, client_id: str, secret: str):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return HttpClient().post(
        f"/t/{tenant.slug}/api/v1/oauth/token",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


# ---- metrics -----------------------------------------------------------------------------------------
def test_a_token_request_moves_the_counters(tenant):
    client, secret = create_client(
        tenant,
        ClientSpec(
            name="svc",
            grant_types=[GrantType.CLIENT_CREDENTIALS],
            token_endpoint_auth_method=AuthMethod.CLIENT_SECRET_BASIC,
        ),
    )
    labels = {"tenant": "acme", "grant_type": "client_credentials"}
    before = scrape()
    assert token_request(tenant, client.client_id, secret).status_code == 200
    assert token_request(tenant, client.client_id, "wrong").status_code == 401
    after = scrape()
    issued = "lumoauth_tokens_issued_total"
    assert (
        value(after, "lumoauth_tokens_issued", issued, **labels)
        == value(before, "lumoauth_tokens_issued", issued, **labels) + 1
    )
    requests_total = "lumoauth_http_requests_total"
    for status in ("200", "401"):
        ok = {"route": "token", "method": "POST", "status": status}
        assert (
            value(after, "lumoauth_http_requests", requests_total, **ok)
            == value(before, "lumoauth_http_requests", requests_total, **ok) + 1
        )
    latency = "lumoauth_http_request_duration_seconds"
    assert (
        value(after, latency, f"{latency}_count", route="token")
        == value(before, latency, f"{latency}_count", route="token") + 2
    )
    assert value(after, latency, f"{latency}_bucket", route="token", le="+Inf") >= 2


def test_sign_ins_are_counted_by_result(tenant, make_user, sign_in):
    make_user(tenant, "alice")
    name, sample = "lumoauth_signins", "lumoauth_signins_total"
    before = scrape()
    assert sign_in(HttpClient(), tenant, "alice").status_code == 302
    assert sign_in(HttpClient(), tenant, "alice", "wrong").status_code == 200
    assert sign_in(HttpClient(), tenant, "nobody", "wrong").status_code == 200
    after = scrape()
    for result, moved in (("succeeded", 1), ("failed", 2)):
        labels = {"tenant": "acme", "result": result, "method": "password"}
        assert value(after, name, sample, **labels) == value(before, name, sample, **labels) + moved


def test_tenant_label_can_be_collapsed(settings, tenant, make_user, sign_in):
    settings.LUMOAUTH_METRICS_TENANT_LABEL = False
    make_user(tenant, "alice")
    before = scrape()
    sign_in(HttpClient(), tenant, "alice")
    labels = {"tenant": "_all", "result": "succeeded"}
    assert value(scrape(), "lumoauth_signins", "lumoauth_signins_total", **labels) == (
        value(before, "lumoauth_signins", "lumoauth_signins_total", **labels) + 1
    )


def test_routes_are_names_not_paths(tenant):
    before = scrape()
    HttpClient().get("/orgs/acme/api/v1/.well-known/openid-configuration")
    HttpClient().get("/t/acme/api/v1/.well-known/openid-configuration")
    HttpClient().get("/no/such/page/12345")
    after = scrape()
    total = "lumoauth_http_requests_total"
    doc = {"route": "openid-configuration", "method": "GET", "status": "200"}
    assert (
        value(after, "lumoauth_http_requests", total, **doc)
        == value(before, "lumoauth_http_requests", total, **doc) + 2
    )
    missing = {"route": "unmatched", "status": "404"}
    assert value(after, "lumoauth_http_requests", total, **missing) >= 1
    assert not [s for s in after["lumoauth_http_requests"].samples if "12345" in s.labels["route"]]


def test_metrics_over_http_include_the_default_registry(live_server):
    """Whatever another module registers on prometheus_client's REGISTRY is exposed too."""
    extra = Counter("lumoauth_test_probe", "A metric registered by someone else.", ["kind"])
    try:
        extra.labels("x").inc(3)
        response = requests.get(f"{live_server.url}/metrics", timeout=10)
        assert response.status_code == 200
        scraped = families(response.text)
        assert value(scraped, "lumoauth_test_probe", "lumoauth_test_probe_total", kind="x") == 3
        assert "lumoauth_http_requests" in scraped and "lumoauth_http_request_duration_seconds" in scraped
        assert "X-Request-ID" in response.headers
    finally:
        REGISTRY.unregister(extra)


def test_openmetrics_is_served_when_asked():
    response = HttpClient().get("/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


# ---- who may scrape ----------------------------------------------------------------------------------
def test_metrics_are_for_loopback_by_default(tenant):
    assert HttpClient(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403
    assert HttpClient(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    # Came through a proxy nobody declared: not a local scrape, whatever REMOTE_ADDR says.
    assert HttpClient().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert HttpClient().get("/metrics", HTTP_FORWARDED="for=203.0.113.9").status_code == 403
    # Platform endpoints are not tenant endpoints.
    assert HttpClient().get(f"/t/{tenant.slug}/metrics").status_code == 404


def test_behind_a_trusted_proxy_the_forwarded_client_counts(settings):
    settings.LUMOAUTH_TRUSTED_PROXY_COUNT = 1
    proxy = HttpClient(REMOTE_ADDR="10.0.0.2")
    assert proxy.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200
    # A client claiming to be loopback: the proxy appends the address it really saw.
    assert proxy.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9").status_code == 403


def test_metrics_token_and_networks(settings):
    outside = HttpClient(REMOTE_ADDR="203.0.113.9")
    settings.LUMOAUTH_METRICS_TOKEN = "s3cret-scrape-token"
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
    refused = outside.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert outside.get("/metrics").status_code == 401
    settings.LUMOAUTH_METRICS_TOKEN = ""
    settings.LUMOAUTH_METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "203.0.113.0/24"]
    assert outside.get("/metrics").status_code == 200
    assert HttpClient().get("/metrics").status_code == 403  # loopback is no longer in the list
    settings.LUMOAUTH_METRICS_ALLOWED_NETWORKS = []
    assert HttpClient().get("/metrics").status_code == 403
    assert HttpClient().post("/metrics").status_code == 405


# ---- request IDs and logs -----------------------------------------------------------------------------
@pytest.fixture
def json_log():
    """The root logger's records as the production handler writes them: JSON, with the filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    def records() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    records.handler = handler
    yield records
    root.removeHandler(handler)


def test_every_response_has_a_request_id(tenant):
    first, second = HttpClient().get("/t/acme/login"), HttpClient().get("/healthz")
    assert HEX_ID.match(first["X-Request-ID"]) and HEX_ID.match(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_incoming_request_ids_are_used_only_when_trusted(settings):
    assert HttpClient().get("/healthz", HTTP_X_REQUEST_ID="from-client-1")["X-Request-ID"] != "from-client-1"
    settings.LUMOAUTH_TRUST_REQUEST_ID = True
    assert HttpClient().get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.42")["X-Request-ID"] == "lb-7f3a.42"
    for hostile in ("two words", "x" * 200, 'quote"d', "new\nline"):
        assert HEX_ID.match(HttpClient().get("/healthz", HTTP_X_REQUEST_ID=hostile)["X-Request-ID"])


def test_log_records_carry_the_request_id(tenant, json_log):
    page = HttpClient().get("/t/acme/login")
    missing = HttpClient().get("/t/acme/no-such-page")
    records = json_log()
    access = [r for r in records if r["logger"] == "lumoauth.access" and r["request_id"] == page["X-Request-ID"]]
    assert len(access) == 1
    line = access[0]
    assert line["level"] == "INFO" and line["message"].startswith("GET /t/acme/login 200")
    assert line["http"] == {"method": "GET", "route": "login", "path": "/t/acme/login", "status_code": 200}
    assert line["tenant"] == "acme" and line["client_ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float) and "timestamp" in line
    # A record written by the code handling the request (Django's 404 warning) has its ID too.
    warning = [r for r in records if r["logger"] == "django.request" and r["level"] == "WARNING"]
    assert warning and warning[-1]["request_id"] == missing["X-Request-ID"]
    # Outside any request there is no ID.
    logging.getLogger("lumoauth.test").warning("outside")
    assert json_log()[-1]["request_id"] == "-"


def test_probes_are_logged_at_debug_only(json_log):
    response = HttpClient().get("/healthz")
    page = HttpClient().get("/")
    access = [r["request_id"] for r in json_log() if r["logger"] == "lumoauth.access"]
    assert response["X-Request-ID"] not in access and page["X-Request-ID"] in access


def test_log_format_comes_from_the_environment(tmp_path):
    probe = "import logging; logging.getLogger('probe').warning('hello %s', 'there')"
    result = run({"LUMOAUTH_VAR_DIR": str(tmp_path), "LOG_FORMAT": "json"}, "shell", "-c", probe)
    assert result.returncode == 0, result.stderr
    line = json.loads([line for line in result.stderr.splitlines() if '"probe"' in line][0])
    assert (line["level"], line["logger"], line["message"], line["request_id"]) == (
        "WARNING",
        "probe",
        "hello there",
        "-",
    )
    result = run({"LUMOAUTH_VAR_DIR": str(tmp_path), "LOG_FORMAT": "text"}, "shell", "-c", probe)
    assert re.search(r" WARNING probe \[-\] hello there$", result.stderr, re.M), result.stderr
    result = run({"LUMOAUTH_VAR_DIR": str(tmp_path), "LOG_FORMAT": "xml"}, "check")
    assert result.returncode != 0 and "LOG_FORMAT must be one of json, text" in result.stderr


def test_logs_never_mix_with_a_commands_output(tmp_path):
    """`quickstart --json | jq` works: records go to stderr, the JSON document alone to stdout."""
    env = {"LUMOAUTH_VAR_DIR": str(tmp_path), "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    assert run(env, "migrate", "--no-input", "-v0").returncode == 0
    result = run(env, "quickstart", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tenant"] == "demo"
    assert any(line.startswith("{") for line in result.stderr.splitlines())  # the logs are there, apart


# ---- the request ID reaches Celery tasks -------------------------------------------------------------
def _app_with_probe(**config):
    # No Django fixup: the worker thread shares this process's Django, already set up.
    app = Celery(f"probe-{free_port()}", set_as_current=False, fixups=[])
    app.conf.update(task_ignore_result=True, worker_hijack_root_logger=False, **config)
    seen = queue.Queue()

    @app.task(name="tests.observability.probe", shared=False)  # shared tasks would join every app
    def probe():
        logging.getLogger("tests.task").warning("task ran")
        seen.put(current_request_id())

    return app, probe, seen


def _request_enqueuing(task):
    def view(request):
        task.delay()
        return HttpResponse("queued")

    response = RequestObservabilityMiddleware(view)(RequestFactory().get("/enqueue"))
    response.close()  # as a WSGI server does: the request is finished
    return response


def test_eager_tasks_log_with_the_request_id(json_log):
    app, probe, seen = _app_with_probe(task_always_eager=True, broker_url="memory://")
    response = _request_enqueuing(probe)
    assert seen.get_nowait() == response["X-Request-ID"]
    ran = [r for r in json_log() if r["message"] == "task ran"]
    assert ran and ran[-1]["request_id"] == response["X-Request-ID"]


def test_a_worker_gets_the_request_id_through_the_broker(json_log):
    """A real worker on a real Redis broker: another thread, another context - the ID can only
    arrive in the message headers."""
    from celery.contrib.testing.worker import start_worker

    # The worker thread sets up Celery's logging (root level, root handlers): listen on the task's
    # own logger, and put the root logger back afterwards.
    root = logging.getLogger()
    root_level, root_handlers = root.level, list(root.handlers)
    task_logger = logging.getLogger("tests.task")
    task_logger.addHandler(json_log.handler)
    task_logger.setLevel(logging.INFO)
    task_logger.propagate = False
    try:
        with redis_server() as url:
            app, probe, seen = _app_with_probe(broker_url=url, task_always_eager=False)
            with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
                response = _request_enqueuing(probe)
                assert seen.get(timeout=20) == response["X-Request-ID"]
                # Enqueued outside any request: no ID, and none left over from the task before.
                probe.delay()
                assert seen.get(timeout=20) is None
    finally:
        task_logger.removeHandler(json_log.handler)
        task_logger.setLevel(logging.NOTSET)
        task_logger.propagate = True
        root.setLevel(root_level)
        root.handlers[:] = root_handlers
    ran = [r for r in json_log() if r["message"] == "task ran"]
    assert [r["request_id"] for r in ran] == [response["X-Request-ID"], "-"]


# ---- health ------------------------------------------------------------------------------------------
def test_healthz_touches_nothing():
    response = HttpClient().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_probes_answer_any_host_over_plain_http(settings, tenant):
    """Orchestrators call an instance by its address, over HTTP; everything else still checks Host."""
    settings.ALLOWED_HOSTS, settings.SECURE_SSL_REDIRECT = ["id.example.com"], True
    settings.REDIS_URL, settings.CELERY_TASK_ALWAYS_EAGER = "", True
    pod = HttpClient(HTTP_HOST="10.0.3.7:8000")
    for path in ("/healthz", "/readyz", "/metrics"):
        response = pod.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert HEX_ID.match(response["X-Request-ID"])
    assert pod.get("/t/acme/login").status_code == 400  # DisallowedHost
    assert HttpClient(HTTP_HOST="id.example.com").get("/t/acme/login").status_code == 301  # to https
    assert HttpClient(REMOTE_ADDR="203.0.113.9", HTTP_HOST="10.0.3.7").get("/metrics").status_code == 403


def test_readyz_embedded(settings):
    settings.REDIS_URL, settings.CELERY_TASK_ALWAYS_EAGER = "", True
    response = HttpClient().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["checks"]["database"]["status"] == "ok"
    assert "redis" not in body["checks"] and body["checks"]["celery_broker"]["status"] == "skipped"


def test_readyz_fails_when_redis_is_down(settings):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL, settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER = closed, closed, False
    response = HttpClient().get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["redis"]["status"] == "fail" and checks["redis"]["error"] == "ConnectionError"
    assert checks["celery_broker"]["status"] == "fail"
    assert b"127.0.0.1" not in response.content  # errors are named, addresses are not shown


def test_readyz_with_redis_up(settings):
    with redis_server() as url:
        settings.REDIS_URL, settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER = url, url, False
        response = HttpClient().get("/readyz")
    assert response.status_code == 200, response.content
    assert {name: check["status"] for name, check in response.json()["checks"].items()} == {
        "database": "ok",
        "redis": "ok",
        "celery_broker": "ok",
    }
