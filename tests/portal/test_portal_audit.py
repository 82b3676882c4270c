"""The audit log in the portal: filters, full-text search, keyset pages, streamed CSV / JSON Lines
exports, and the same in a browser together with SCIM tokens and signing keys."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

from lumoauth.events import export
from lumoauth.events.api import AuditEvent, Ref, record
from lumoauth.events.search import AuditQuery, filtered_events

from .conftest import screenshot

pytestmark = pytest.mark.django_db

URL = "/t/acme/portal/audit/"


@pytest.fixture
def record_at(monkeypatch):
    """record() with the clock set to `when` (auto_now_add reads django.utils.timezone.now)."""

    def make(when, action, tenant, **kwargs):
        with monkeypatch.context() as m:
            m.setattr(timezone, "now", lambda: when)
            return record(action, tenant=tenant, **kwargs)

    return make


def at(day, hour=12, minute=0):
    return datetime(2099, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def history(tenant, other_tenant, record_at):
    """A small, varied log of acme, and globex events that must never show. In the future, so that
    ids grow with time as in real life (the sign-in events of the test happen now)."""
    carol, dave = Ref("user", "u-carol", "carol"), Ref("user", "u-dave", "dave")
    events = {
        "created": record_at(at(1), "user.created", tenant, actor=carol, target=Ref("user", "u-erin", "erin")),
        "failed": record_at(
            at(2), "login.failed", tenant, outcome="failure", target=Ref("user", "", "erin"), details={"reason": "bad"}
        ),
        "login": record_at(at(3), "login.succeeded", tenant, actor=Ref("user", "u-erin", "erin")),
        "client": record_at(
            at(4), "client.created", tenant, actor=dave, target=Ref("client", "billing-7", "Billing service")
        ),
        "group": record_at(
            at(5),
            "group.updated",
            tenant,
            actor=carol,
            target=Ref("group", "31", "Support"),
            details={"fields": ["quokka"]},
        ),
    }
    record_at(at(3), "login.failed", other_tenant, outcome="failure", details={"reason": "quokka"})
    record_at(at(4), "user.created", other_tenant, actor=Ref("user", "99", "carol"), target=Ref("user", "98", "erin"))
    return events


def ids(response):
    assert response.status_code == 200, response.content[:500]
    return [event.id for event in response.context["events"]]


def expected(tenant, action="", outcome="", actor=""):
    """The ids these filters should find, worked out in Python over the tenant's whole log."""
    return [
        e.id
        for e in AuditEvent.objects.filter(tenant=tenant).order_by("-id")
        if e.action.startswith(action) and (not outcome or e.outcome == outcome) and actor in e.actor_label
    ]


def test_each_filter_and_their_combinations(admin_client, tenant, history):
    h = history
    log = list(AuditEvent.objects.filter(tenant=tenant).order_by("-id"))  # also boss's own sign-in

    def where(test):
        return [e.id for e in log if test(e)]

    def found(**params):
        return ids(admin_client.get(URL, params))

    assert found() == where(lambda e: True)
    assert found(action="login.") == where(lambda e: e.action.startswith("login."))
    assert {h["login"].id, h["failed"].id} <= set(found(action="login.")) and h["created"].id not in found(action="l")
    assert found(actor="CAROL") == [h["group"].id, h["created"].id]  # label contains, any case
    assert found(actor="u-erin") == [h["login"].id]  # actor id, exactly
    assert found(outcome="failure") == [h["failed"].id]
    assert found(target_type="client") == [h["client"].id]
    assert found(target="billing-7") == [h["client"].id]  # target id
    assert found(target="ERIN") == [h["failed"].id, h["created"].id]  # target label contains
    # Time range in UTC, as datetime-local sends it: from inclusive, to exclusive.
    assert found(**{"from": "2099-03-02T12:00", "to": "2099-03-04T12:00"}) == [h["login"].id, h["failed"].id]
    assert found(**{"from": "2099-03-04T12:00:00"}) == where(lambda e: e.occurred_at >= at(4))
    assert {h["group"].id, h["client"].id} <= set(found(**{"from": "2099-03-04T12:00:00"}))
    # Combined: every filter narrows the others.
    assert found(actor="carol", action="user.") == [h["created"].id]
    assert found(actor="carol", to="2099-03-03T00:00") == [h["created"].id]
    assert found(target="erin", outcome="failure", action="login") == [h["failed"].id]
    assert found(action="login.", to="2099-03-10T00:00", q="erin") == [h["login"].id, h["failed"].id]
    assert found(actor="carol", target_type="client") == []
    empty = admin_client.get(URL, {"actor": "nobody-at-all"})
    assert b"No event matches these filters." in empty.content
    # The form keeps what was typed.
    assert b'value="carol"' in admin_client.get(URL, {"actor": "carol"}).content
    assert b'value="2099-03-02T12:00"' in admin_client.get(URL, {"from": "2099-03-02T12:00"}).content


def test_time_range_is_exact_whatever_the_id_order_within_the_clock_skew_margin(admin_client, tenant, record_at):
    # Ids grow with time, except between servers whose clocks disagree a little: B is written after
    # A by a server 30 minutes behind. Both are found exactly where their times put them.
    a = record_at(at(20, 12, 0), "thing.a", tenant)
    b = record_at(at(20, 11, 30), "thing.b", tenant)
    later = record_at(at(25), "thing.c", tenant)
    assert ids(admin_client.get(URL, {"to": "2099-03-20T11:45"}))[0] == b.id
    assert ids(admin_client.get(URL, {"from": "2099-03-20T11:45", "to": "2099-03-21T00:00"})) == [a.id]
    assert ids(admin_client.get(URL, {"from": "2099-03-20T11:00", "to": "2099-03-20T11:59"})) == [b.id]
    assert ids(admin_client.get(URL, {"from": "2099-03-21T00:00"})) == [later.id]
    assert ids(admin_client.get(URL, {"from": "0001-01-01T00:00", "to": "9999-12-31T23:59:59"}))[:3] == [
        later.id,
        b.id,
        a.id,
    ]


def test_full_text_search_of_details_and_labels(admin_client, tenant, history):
    h = history
    assert ids(admin_client.get(URL, {"q": "quokka"})) == [h["group"].id]  # in details; globex's is not shown
    assert ids(admin_client.get(URL, {"q": "bad"})) == [h["failed"].id]
    assert ids(admin_client.get(URL, {"q": "Billing"})) == [h["client"].id]  # target label, any case
    assert ids(admin_client.get(URL, {"q": "billing-7"})) == [h["client"].id]  # an identifier as typed
    assert ids(admin_client.get(URL, {"q": "support quokka"})) == [h["group"].id]  # every word
    assert ids(admin_client.get(URL, {"q": "support nowhere"})) == []
    assert ids(admin_client.get(URL, {"q": "quokka", "outcome": "failure"})) == []
    # Whatever people type never breaks the query.
    for text in ('"unbalanced', "a & | ! b", "-", "(", "'; drop table", "%_"):
        assert admin_client.get(URL, {"q": text}).status_code == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index exists on PostgreSQL only")
def test_full_text_search_uses_the_gin_index(tenant, history):
    # Enough other events that walking the log would be slow, and fresh statistics for the planner.
    AuditEvent.objects.bulk_create(
        AuditEvent(tenant=tenant, action="login.succeeded", actor_type="user", actor_label=f"user{n}")
        for n in range(5000)
    )
    events = filtered_events(tenant, AuditQuery(text="quokka")).order_by("-id")[:51]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_auditevent")
        sql, params = events.query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "audit_search" in plan, plan
    assert [e.id for e in events] == [history["group"].id]


def test_keyset_pages_keep_the_filters_both_ways(admin_client, tenant, other_tenant):
    for n in range(130):
        record("thing.done", tenant=tenant, outcome="failure" if n % 2 else "success", details={"n": n})
        record("thing.done", tenant=other_tenant, outcome="failure")
    wanted = expected(tenant, action="thing.", outcome="failure")
    assert len(wanted) == 65
    first = admin_client.get(URL, {"action": "thing.", "outcome": "failure"})
    assert ids(first) == wanted[:50] and first.context["newer_query"] == ""
    older_query = first.context["older_query"]
    assert "action=thing." in older_query and "outcome=failure" in older_query and "before=" in older_query
    assert f'href="?{older_query}"'.replace("&", "&amp;").encode() in first.content
    older = admin_client.get(f"{URL}?{older_query}")
    assert ids(older) == wanted[50:] and older.context["older_query"] == ""
    newer = admin_client.get(f"{URL}?{older.context['newer_query']}")
    assert ids(newer) == wanted[:50]  # back on the first page
    # A cursor in the middle, then Newer: the 50 just newer than it, then the newest page.
    middle = admin_client.get(URL, {"action": "thing.", "outcome": "failure", "before": wanted[60]})
    assert ids(middle) == wanted[61:]
    up = admin_client.get(f"{URL}?{middle.context['newer_query']}")
    assert ids(up) == wanted[11:61] and up.context["older_query"] and up.context["newer_query"]
    assert ids(admin_client.get(f"{URL}?{up.context['newer_query']}")) == wanted[:50]


def test_bad_filters_are_a_400_never_a_500(admin_client, history):
    for params in (
        {"from": "yesterday"},
        {"to": "2026-02-30T10:00"},
        {"from": "2099-03-05T00:00", "to": "2099-03-01T00:00"},
        {"outcome": "maybe"},
        {"actor": "x" * 300},
        {"q": "y" * 201},
    ):
        answer = admin_client.get(URL, params)
        assert answer.status_code == 400 and answer.context["events"] == [], params
        assert b'role="alert"' in answer.content
        assert admin_client.get(f"{URL}export.csv", params).status_code == 400
    assert (
        b"Must be later than From." in admin_client.get(URL, {"from": "2099-03-05T00:00", "to": "2099-03-01"}).content
    )
    for cursor in ("99999999999999999999999", "-1", "²", "1e5", "0", "abc"):
        assert admin_client.get(URL, {"before": cursor, "after": cursor}).status_code == 200
    assert admin_client.get(f"{URL}export.xlsx").status_code == 404


def test_export_csv_streams_the_filtered_set_in_chunks(admin_client, tenant, other_tenant, admin, monkeypatch):
    monkeypatch.setattr(export, "EXPORT_CHUNK_SIZE", 7)
    for n in range(40):
        record("user.updated" if n % 3 else "user.created", tenant=tenant, target=Ref("user", str(n), f"user{n}"))
        record("user.updated", tenant=other_tenant, target=Ref("user", str(n), f"globex{n}"))
    record("group.created", tenant=tenant, target=Ref("group", "1", '=HYPERLINK("http://evil")'), details={"x": 1})
    wanted = expected(tenant, action="user.updated")

    answer = admin_client.get(f"{URL}export.csv", {"action": "user.updated"})
    assert isinstance(answer, StreamingHttpResponse)
    assert answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    assert answer["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert [int(row["id"]) for row in rows] == wanted and len(wanted) > 3 * 7  # several chunks
    assert all(row["action"] == "user.updated" and not row["target_label"].startswith("globex") for row in rows)
    assert rows[0]["occurred_at"].endswith("Z")

    exported = AuditEvent.objects.get(tenant=tenant, action="audit.exported")
    assert exported.actor_id == str(admin.pk) and exported.actor_label == "boss"
    assert exported.details == {"format": "csv", "filters": {"action": "user.updated"}}
    assert exported.id not in wanted  # the export covers what happened before it

    everything = admin_client.get(f"{URL}export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(everything.streaming_content).decode())))
    second = AuditEvent.objects.filter(tenant=tenant, action="audit.exported").order_by("-id").first()
    assert second.id != exported.id and second.details == {"format": "csv", "filters": {}}
    log = AuditEvent.objects.filter(tenant=tenant, id__lt=second.id).order_by("-id")
    assert [int(row["id"]) for row in rows] == [e.id for e in log]  # all of acme's log, nothing of globex
    hyperlink = next(row for row in rows if row["action"] == "group.created")
    assert hyperlink["target_label"] == '\'=HYPERLINK("http://evil")'  # formula injection defused
    assert hyperlink["details"] == '{"x": 1}'


def test_export_json_lines_equals_the_filtered_set(admin_client, tenant, other_tenant, monkeypatch, history):
    monkeypatch.setattr(export, "EXPORT_CHUNK_SIZE", 2)
    wanted = expected(tenant, actor="carol")
    answer = admin_client.get(f"{URL}export.jsonl", {"actor": "carol", "to": "2099-03-10T00:00"})
    assert isinstance(answer, StreamingHttpResponse) and answer["Content-Type"].startswith("application/x-ndjson")
    assert answer["Content-Disposition"].endswith('.jsonl"')
    lines = [json.loads(line) for line in b"".join(answer.streaming_content).decode().splitlines()]
    assert [line["id"] for line in lines] == wanted == [history["group"].id, history["created"].id]
    group = lines[0]
    assert group["details"] == {"fields": ["quokka"]} and group["target_type"] == "group"
    assert group["occurred_at"] == "2099-03-05T12:00:00Z" and group["actor_label"] == "carol"
    exported = AuditEvent.objects.get(tenant=tenant, action="audit.exported")
    assert exported.details == {"format": "jsonl", "filters": {"actor": "carol", "until": "2099-03-10T00:00:00+00:00"}}
    assert not AuditEvent.objects.filter(tenant=other_tenant, action="audit.exported").exists()


def test_csv_cells_that_would_run_as_formulas_are_escaped():
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert export.csv_cell(dangerous) == "'" + dangerous
    assert (
        export.csv_cell("alice") == "alice" and export.csv_cell(None) == "" and export.csv_cell({"a": 1}) == '{"a": 1}'
    )


def test_only_the_tenants_admins_see_the_log(tenant, other_tenant, make_user, sign_in, history, admin):
    member = Client()
    make_user(tenant, "alice")
    sign_in(member, tenant, "alice")
    for path in (URL, f"{URL}export.csv", f"{URL}export.jsonl", f"{URL}?q=quokka"):
        assert member.get(path).status_code == 404
    foreign = Client()
    make_user(other_tenant, "root", is_tenant_admin=True)
    sign_in(foreign, other_tenant, "root")
    assert foreign.get(f"{URL}export.csv").status_code == 302  # not signed in to acme: the sign-in page
    own = foreign.get("/t/globex/portal/audit/")
    assert {e.tenant_id for e in own.context["events"]} == {other_tenant.pk}
    assert not {e.id for e in history.values()} & {e.id for e in own.context["events"]}
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


# --- In a browser: the audit log, SCIM tokens and signing keys -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_admin_creates_a_scim_token_rotates_keys_and_exports_the_log(admin_page, tenant, live_server):
    import requests

    page = admin_page
    # SCIM: create a token, read it once, use it.
    page.click("nav >> text=SCIM")
    assert page.inner_text("h1") == "SCIM provisioning"
    assert page.inner_text("#scim-base-url").endswith("/t/acme/scim/v2/")
    assert "No SCIM tokens yet" in page.content()
    page.fill("input[name=label]", "Okta production")
    page.click("button:has-text('Create token')")
    assert "shown only once" in page.content()
    token = page.inner_text("#scim-token")
    assert token.startswith("scim_") and len(token) > 40
    page.click("button[data-copy='#scim-token']")
    page.wait_for_selector("button:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == token
    scim = requests.get(f"{live_server.url}/t/acme/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert scim.status_code == 200
    page.click("text=Back to SCIM")
    row = page.locator("tr", has_text="Okta production")
    assert "active" in row.inner_text() and "never" not in row.inner_text()  # last use shown
    screenshot(page, "scim-tokens")

    # Signing keys: rotate to ES256 after confirming.
    page.click("nav >> text=Signing keys")
    before = page.locator("tr", has_text="active · signing").locator("code").inner_text()
    page.select_option("select[name=alg]", "ES256")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Rotate now')")
    page.wait_for_selector("text=Keys rotated")
    after = page.locator("tr", has_text="active · signing").locator("code").inner_text()
    assert after != before and before in page.locator("tr", has_text="retiring").inner_text()
    assert "ES256" in page.locator("tr", has_text="next").inner_text()
    screenshot(page, "signing-keys")

    # Audit log: find the token's creation, then export what the filter shows as CSV.
    page.click("nav >> text=Audit log")
    page.fill("input[name=action]", "scim_token.")
    page.fill("input[name=actor]", "boss")
    page.click("button:has-text('Filter')")
    page.wait_for_url(lambda url: "action=scim_token." in url)
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "scim_token.created" in rows.inner_text() and "Okta production" in rows.inner_text()
    page.click("summary")
    assert "IP address" in rows.inner_text()
    screenshot(page, "audit")
    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    download = download_info.value
    assert download.suggested_filename.startswith("audit-acme-") and download.suggested_filename.endswith(".csv")
    exported = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert [(row["action"], row["target_label"]) for row in exported] == [("scim_token.created", "Okta production")]
    assert AuditEvent.objects.filter(tenant=tenant, action="audit.exported", actor_label="boss").count() == 1
