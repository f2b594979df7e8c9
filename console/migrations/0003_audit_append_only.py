"""Database triggers that refuse UPDATE and DELETE on audit events, on SQLite and PostgreSQL.

SQLite: the DELETE trigger's WHEN calls console_audit_flush_allowed(), a function the app
registers on each of its connections (console.signals) and which only the test suite's flush
switches on; a plain sqlite3 connection lacks the function, so it fails closed.
PostgreSQL: row triggers raise restrict_violation. An owner can still disable triggers and
TRUNCATE skips row triggers, so production runs as a role that may only SELECT and INSERT here
(docs/deploy.md).
Note: on SQLite, a later migration that rebuilds this table drops its triggers; such a
migration must create them again.
"""

from django.db import migrations

SQLITE_CREATE = [
    """
    CREATE TRIGGER console_auditevent_no_update BEFORE UPDATE ON console_auditevent
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
    """,
    """
    CREATE TRIGGER console_auditevent_no_delete BEFORE DELETE ON console_auditevent
    WHEN NOT console_audit_flush_allowed()
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS console_auditevent_no_update",
    "DROP TRIGGER IF EXISTS console_auditevent_no_delete",
]
POSTGRES_CREATE = [
    """
    CREATE OR REPLACE FUNCTION console_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER console_auditevent_append_only
    BEFORE UPDATE OR DELETE ON console_auditevent
    FOR EACH ROW EXECUTE FUNCTION console_audit_append_only()
    """,
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS console_auditevent_append_only ON console_auditevent",
    "DROP FUNCTION IF EXISTS console_audit_append_only()",
]


def _run(statements):
    def apply(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for sql in statements.get(vendor, []):
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("console", "0002_roles")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
