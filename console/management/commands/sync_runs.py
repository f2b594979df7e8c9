"""``manage.py sync_runs``: refresh the runs mirror for every model the console knows.

Safe to run every few minutes from cron or a Kubernetes CronJob. It reads only (GET) and writes
no audit events; each model is read with the token of an active member whose token is set and
readable, preferring the member who last acted on that model.
"""

from typing import Any

from django.core.management.base import BaseCommand

from console.models import ModelSyncState, RunRecord
from console.services.runs import remember_model, runs_refresh, sync_member_for
from drgero_client import DrGeroError

DISCOVERY_BOUND = 1000


class Command(BaseCommand):
    help = "Refresh the runs mirror from Dr.Gero for every model the console knows."

    def handle(self, **options: Any) -> None:
        self._discover()
        model_ids = set(ModelSyncState.objects.values_list("model_id", flat=True)) | set(
            RunRecord.objects.values_list("model_id", flat=True).distinct()
        )
        refreshed = runs = skipped = failed = 0
        for model_id in sorted(model_ids):
            chosen = sync_member_for(model_id)
            if chosen is None:
                skipped += 1
                continue
            _, client = chosen
            try:
                runs += len(runs_refresh(client=client, model_id=model_id))
                refreshed += 1
            except DrGeroError as exc:
                failed += 1
                self.stderr.write(f"model {model_id}: {exc}")
        self.stdout.write(
            f"refreshed {refreshed} models ({runs} runs); skipped {skipped} with no member "
            f"whose token is readable; {failed} failed"
        )

    def _discover(self) -> None:
        """Learn the models of the workspace, so scheduled runs are recorded too."""
        chosen = sync_member_for("")
        if chosen is None:
            return
        _, client = chosen
        try:
            for model in client.iter_models(max_items=DISCOVERY_BOUND):
                remember_model(model.id, model.name)
        except DrGeroError as exc:
            self.stderr.write(f"could not list models: {exc}")
