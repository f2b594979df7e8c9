"""``manage.py sync_runs``: one discovery sweep now, in this process.

The worker (`manage.py run_huey`) already sweeps every CONSOLE_SYNC_IDLE_SECONDS; this is for
filling the mirror by hand (a first import, a check after a key rotation). It reads only (GET)
and writes no audit events.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.services.sweeps import sweep_once


class Command(BaseCommand):
    help = "Read every model the team's tokens can see, and their runs, into the runs mirror."

    def handle(self, **options: Any) -> None:
        report, _ = sweep_once("discovery")
        self.stdout.write(
            f"read {report.runs} runs of {report.models} models in {report.calls} Dr.Gero calls"
        )
        if not report.ok:
            raise CommandError(report.error)
