"""Indexes the history and audit filters need at scale; a mirrored run always has a time."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("console", "0004_runs_mirror")]

    operations = [
        migrations.RunSQL(
            "UPDATE console_runrecord SET created_at = first_seen_at WHERE created_at IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="runrecord",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor_username", "-seq"], name="audit_actorname_seq"),
        ),
        migrations.AddIndex(
            model_name="runrecord",
            index=models.Index(
                fields=["started_by_username", "-created_at", "-id"],
                name="run_startername_created",
            ),
        ),
    ]
