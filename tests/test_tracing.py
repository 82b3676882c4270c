"""OpenTelemetry tracing: spans of real requests reach an OTLP/HTTP collector (a receiver started by
the test, decoding with OpenTelemetry's own protobuf classes) when OTEL_EXPORTER_OTLP_ENDPOINT is
set; without it, nothing of OpenTelemetry is loaded. Each case runs Django in a fresh process."""

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import json, sys, django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
from lumoauth.observability import tracing
statuses = [Client().get(path).status_code for path in ("/", "/healthz")]
tracing.flush()
loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
print(json.dumps({"statuses": statuses, "otel_loaded": loaded}))
"""


class Collector(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, self.headers.get("Content-Type"), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector():
    Collector.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_django(tmp_path, **env) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environment.update(DJANGO_SETTINGS_MODULE="lumoauth.settings", LUMOAUTH_VAR_DIR=str(tmp_path), **env)
    for name in ("DATABASE_URL", "REDIS_URL"):
        environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_spans_reach_the_otlp_collector(tmp_path, collector):
    endpoint = f"http://127.0.0.1:{collector.server_port}"
    outcome = run_django(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_SERVICE_NAME="lumoauth-test")
    assert outcome["statuses"] == [200, 200]
    spans, resources = [], []
    for path, content_type, body in Collector.received:
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        for resource_spans in export.resource_spans:
            resources.append({a.key: a.value.string_value for a in resource_spans.resource.attributes})
            spans += [span for scope in resource_spans.scope_spans for span in scope.spans]
    assert {r["service.name"] for r in resources} == {"lumoauth-test"}
    by_name = {span.name: {a.key: a.value for a in span.attributes} for span in spans}
    assert {"GET home", "GET healthz"} <= set(by_name)
    assert by_name["GET healthz"]["http.status_code"].int_value == 200
    assert by_name["GET healthz"]["http.method"].string_value == "GET"


def test_tracing_off_loads_nothing(tmp_path):
    outcome = run_django(tmp_path)
    assert outcome["statuses"] == [200, 200]
    assert outcome["otel_loaded"] == []
