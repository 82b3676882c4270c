"""Where a client_credentials token request spends its time, in-process (no HTTP server).

Run through `manage.py shell` against a database prepared by bench/run.sh (or any database where
`manage.py quickstart` and bench/setup_clients.py have run), with the same environment:

    .venv/bin/python manage.py shell -c "$(cat bench/profile_token.py)"

Env: PROFILE_CLIENT (demo-service = JWT, bench-opaque = opaque), PROFILE_REQUESTS (default 300),
PROFILE_TOP (default 25). Prints the SQL of one request, the query count, the mean wall time per
request, and cProfile's top functions by own time and by cumulative time.
"""

import base64
import cProfile
import io
import os
import pstats
import time

from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

SECRETS = {
    "demo-service": "demo-service-secret-change-me-0123456789",
    "bench-opaque": "bench-opaque-secret-0123456789abcdef",
}
client_id = os.environ.get("PROFILE_CLIENT", "demo-service")
n = int(os.environ.get("PROFILE_REQUESTS", "300"))
top = int(os.environ.get("PROFILE_TOP", "25"))
basic = "Basic " + base64.b64encode(f"{client_id}:{SECRETS[client_id]}".encode()).decode()
http = HttpClient(HTTP_HOST="127.0.0.1")
url = "/t/demo/api/v1/oauth/token"


def one():
    response = http.post(url, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic)
    assert response.status_code == 200, (response.status_code, response.content[:300])


for _ in range(20):  # warm caches, imports, the connection
    one()

with CaptureQueriesContext(connection) as queries:
    one()
print(f"== SQL of one token request ({client_id}): {len(queries.captured_queries)} queries")
for q in queries.captured_queries:
    print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:160]}")

start = time.perf_counter()
for _ in range(n):
    one()
plain = (time.perf_counter() - start) / n
print(f"== mean wall time per request, unprofiled: {plain * 1000:.2f} ms ({n} requests)")

profiler = cProfile.Profile()
profiler.enable()
for _ in range(n):
    one()
profiler.disable()
for order in ("tottime", "cumulative"):
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
    print(f"== cProfile, {n} requests, by {order}")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])
