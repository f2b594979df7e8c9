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

from console.migrations._audit_sql import CREATE, DROP


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
            _run(CREATE),
            _run(DROP),
        )
    ]
