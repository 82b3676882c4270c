"""The portal's audit log at scale: bulk-insert N events for one tenant, then time pages through the
Django test client (the whole view: sign-in session, form, query, template).

    createdb lumoauth_audit_bench   # any empty PostgreSQL database
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/lumoauth_audit_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/audit_log.py 1000000

Without DATABASE_URL it runs on the default SQLite file under var/ (use a small N there, and a
throwaway LUMOAUTH_VAR_DIR). Re-running reuses the events already inserted (the tenant is
`auditbench`); BENCH_REPEAT (default 5) sets how often each page is fetched; BENCH_EXPLAIN=1 prints
PostgreSQL's plan of each page's main query. Prints one line per case: median and best time in ms.
"""

import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lumoauth.settings")

import django  # noqa: E402

django.setup()

import json  # noqa: E402

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from lumoauth.events.models import AuditEvent  # noqa: E402
from tenants.models import Tenant, User  # noqa: E402
from tenants.services.tenants import create_tenant  # noqa: E402
from tenants.services.users import create_user  # noqa: E402

SLUG = "auditbench"
PASSWORD = "audit-bench-password-0123"
BATCH = 10_000
STEP = timedelta(days=365) / 1_000_000  # a million events make a year
NEEDLE_EVERY = 100_000  # one event in this many carries the rare word "zebra" in its details
COLUMNS = (
    "tenant_id",
    "occurred_at",
    "action",
    "outcome",
    "actor_type",
    "actor_id",
    "actor_label",
    "target_type",
    "target_id",
    "target_label",
    "ip_address",
    "user_agent",
    "details",
)


def event_row(tenant_id: int, n: int, start: datetime) -> tuple:
    """A plausible event: mostly sign-ins, some failures, directory and client changes."""
    rnd = random.Random(n)
    user = rnd.randrange(5000)
    label = f"user{user}@bench.example"
    when = start + n * STEP  # ids and times grow together, as record() writes them
    kind = rnd.random()
    if kind < 0.6:
        row = ("login.succeeded", "success", "user", str(user), label, "", "", "", {"method": "password"})
    elif kind < 0.7:
        outcome = "denied" if rnd.random() < 0.1 else "failure"
        reason = "throttled" if outcome == "denied" else "bad_password"
        row = ("login.failed", outcome, "anonymous", "", "anonymous", "user", "", label, {"reason": reason})
    elif kind < 0.85:
        client = f"app-{rnd.randrange(50)}"
        row = ("oauth.token_issued", "success", "client", client, client, "user", str(user), label, {"grant": "code"})
    elif kind < 0.95:
        fields = rnd.sample(["email", "name", "given_name", "family_name", "locale"], 2)
        row = ("user.updated", "success", "user", "1", "admin", "user", str(user), label, {"fields": fields})
    else:
        group = f"group-{rnd.randrange(200)}"
        row = ("membership.added", "success", "user", "1", "admin", "group", group, group, {"user": label})
    action, outcome, actor_type, actor_id, actor_label, target_type, target_id, target_label, details = row
    if n % NEEDLE_EVERY == 12_345:
        details = {**details, "note": "zebra"}
    ip = f"10.{user % 256}.{user // 256}.{n % 250 + 1}"
    when = connection.ops.adapt_datetimefield_value(when)
    return (
        tenant_id,
        when,
        action,
        outcome,
        actor_type,
        actor_id,
        actor_label,
        target_type,
        target_id,
        target_label,
        ip,
        "Mozilla/5.0 (bench)",
        json.dumps(details),
    )


def insert(tenant: Tenant, have: int, total: int) -> None:
    # After the tenant's own first events (its creation), so the whole log stays in time order.
    start = AuditEvent.objects.filter(tenant=tenant).order_by("id").values_list("occurred_at", flat=True)[0]
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for first in range(have, total, BATCH):
            rows = [event_row(tenant.pk, n, start) for n in range(first, min(first + BATCH, total))]
            with transaction.atomic():
                if connection.vendor == "postgresql":  # COPY: the fast path for a million rows
                    with cursor.cursor.copy(f"COPY events_auditevent ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    marks = ", ".join(["%s"] * len(COLUMNS))
                    cursor.executemany(f"INSERT INTO events_auditevent ({', '.join(COLUMNS)}) VALUES ({marks})", rows)
            done = first + len(rows)
            print(f"  inserted {done:,}/{total:,} ({time.perf_counter() - began:.0f} s)", file=sys.stderr, end="\r")
        print(file=sys.stderr)
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE events_auditevent")
        else:
            cursor.execute("ANALYZE events_auditevent")
    print(f"# inserted {total - have:,} events in {time.perf_counter() - began:.1f} s")


def prepare(total: int) -> tuple[Tenant, Client]:
    tenant = Tenant.objects.filter(slug=SLUG).first() or create_tenant(SLUG, "Audit bench")
    if not User.objects.filter(tenant=tenant, username="benchadmin").exists():
        create_user(tenant, "benchadmin", password=PASSWORD, is_tenant_admin=True)
    have = AuditEvent.objects.filter(tenant=tenant).count()
    if have < total:
        insert(tenant, have, total)
    client = Client()
    answer = client.post(f"/t/{SLUG}/login", {"identifier": "benchadmin", "password": PASSWORD})
    assert answer.status_code == 302, answer.status_code
    return tenant, client


def explain(queries) -> None:
    main = [q["sql"] for q in queries if "events_auditevent" in q["sql"] and "ORDER BY" in q["sql"]]
    if not main or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + main[0])
        for (line,) in cursor.fetchall():
            print(f"      {line}")


def measure(client: Client, name: str, url: str, repeat: int, show_plan: bool) -> None:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            answer = client.get(url)
            body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (url, answer.status_code)
    rows = max(0, body.count(b"<tr>") - 1 if not answer.streaming else body.count(b"\n") - 1)
    print(f"{name:<34} median {statistics.median(times):8.1f} ms   best {min(times):8.1f} ms   rows {rows:>6}   {url}")
    if show_plan:
        explain(queries.captured_queries)


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    show_plan = os.environ.get("BENCH_EXPLAIN") == "1"
    setup_test_environment()  # the test client's host, "testserver", is allowed
    tenant, client = prepare(total)
    ids = AuditEvent.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True)
    oldest, middle = ids[100], (ids.first() + ids.last()) // 2
    day = AuditEvent.objects.get(id=middle).occurred_at.replace(hour=0, minute=0, second=0, microsecond=0)
    one_day = f"from={day:%Y-%m-%dT%H:%M}&to={day + timedelta(days=1):%Y-%m-%dT%H:%M}"
    base = f"/t/{SLUG}/portal/audit/"
    print(f"# {connection.vendor}, {AuditEvent.objects.filter(tenant=tenant).count():,} events of {SLUG}")
    cases = [
        ("first page", base),
        ("deep page (100 from the oldest)", f"{base}?before={oldest}"),
        ("filtered: login. failure user42", f"{base}?action=login.&outcome=failure&target=user42%40"),
        ("filtered: denied", f"{base}?outcome=denied"),
        ("filtered: actor, deep cursor", f"{base}?actor=app-7&before={middle}"),
        ("time range: one day in the middle", f"{base}?{one_day}"),
        ("full text: rare word", f"{base}?q=zebra"),
        ("full text: common word", f"{base}?q=bad_password"),
        ("full text + filter", f"{base}?q=password&action=login.succeeded&actor=user7%40"),
        ("export csv: one day", f"{base}export.csv?{one_day}"),
    ]
    for name, url in cases:
        measure(client, name, url, repeat, show_plan)


if __name__ == "__main__":
    main()
