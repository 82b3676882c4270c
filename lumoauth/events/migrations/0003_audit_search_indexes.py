"""Indexes for the portal's audit-log search (lumoauth/events/search.py says which serves what).

On every database: (tenant, occurred_at) for time ranges, and a partial (tenant, -id) index of the
events that did not succeed. On PostgreSQL only: a varchar_pattern_ops index for action prefixes
(LIKE 'login.%' cannot use a btree in a non-C collation otherwise), and the GIN index of the
full-text search, built from the same SearchVector as the query so the planner can use it.

On a large existing table, create the two PostgreSQL indexes CONCURRENTLY by hand first (same names);
this migration then leaves them alone.
"""

from django.db import migrations, models

SEARCH_FIELDS = ("action", "actor_label", "target_label", "target_id", "details")  # = search.SEARCH_FIELDS
SEARCH_INDEX = "audit_search"
PREFIX_INDEX = "audit_tenant_action_prefix"


def _exists(schema_editor, name):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [name])
        return cursor.fetchone() is not None


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    if not _exists(schema_editor, PREFIX_INDEX):
        schema_editor.execute(
            f"CREATE INDEX {PREFIX_INDEX} ON events_auditevent (tenant_id, action varchar_pattern_ops)", params=None
        )
    if not _exists(schema_editor, SEARCH_INDEX):
        model = apps.get_model("events", "AuditEvent")
        schema_editor.add_index(model, GinIndex(SearchVector(*SEARCH_FIELDS, config="simple"), name=SEARCH_INDEX))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}; DROP INDEX IF EXISTS {PREFIX_INDEX};", params=None)


class Migration(migrations.Migration):
    dependencies = [("events", "0002_append_only_trigger")]

    operations = [
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["tenant", "occurred_at"], name="audit_tenant_time"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=~models.Q(outcome="success"), fields=["tenant", "-id"], name="audit_tenant_problems"
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
