"""The runs mirror: the team's shared record of every Dr.Gero fine-tune run, and who started it."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from console.fragments import mirror_changed


class RunOrigin(models.TextChoices):
    CONSOLE = "console", "Started in the console"
    EXTERNAL = "external", "Started outside the console"


class RunRecordQuerySet(models.QuerySet["RunRecord"]):
    """Writes that bypass a run's ``save`` (and so its signals) still tell the run history
    that the mirror changed (console.fragments)."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        mirror_changed()
        return count

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[RunRecord]:  # type: ignore[override]
        made: list[RunRecord] = super().bulk_create(*args, **kwargs)  # type: ignore[assignment]
        mirror_changed()
        return made

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        count: int = super().bulk_update(*args, **kwargs)
        mirror_changed()
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted = super().delete()
        mirror_changed()
        return deleted


class RunRecord(models.Model):
    run_id = models.CharField(max_length=128, unique=True)
    model_id = models.CharField(max_length=128)
    model_name = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=64, blank=True)  # exactly as Dr.Gero sent it
    category = models.CharField(max_length=16)  # console.vocabulary.CATEGORIES
    # When Dr.Gero gives no creation time, the time the console first saw the run.
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.IntegerField(null=True, blank=True)
    dataset_auto = models.BooleanField(null=True)
    dataset_rows = models.IntegerField(null=True, blank=True)
    dataset_algorithm = models.CharField(max_length=32, blank=True)
    create_synthetic_data = models.BooleanField(null=True)
    hypertuning_enabled = models.BooleanField(null=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_by_username = models.CharField(max_length=150, blank=True)
    origin = models.CharField(max_length=16, choices=RunOrigin.choices)
    synced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    synced_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    raw = models.JSONField(default=dict)
    # The first complete read of the model's runs that did not list this queued, running or
    # unknown run; a later one, an active-sweep interval on, retires it as "gone".
    missing_since = models.DateTimeField(null=True, blank=True)
    # Why the member who started it in the console did so, in their words (optional).
    note = models.CharField(max_length=500, blank=True)

    objects = RunRecordQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="run_created"),
            models.Index(fields=["model_id", "-created_at", "-id"], name="run_model_created"),
            models.Index(fields=["category", "-created_at", "-id"], name="run_category_created"),
            models.Index(fields=["started_by", "-created_at", "-id"], name="run_starter_created"),
            models.Index(
                fields=["started_by_username", "-created_at", "-id"], name="run_startername_created"
            ),
            models.Index(fields=["origin", "-created_at", "-id"], name="run_origin_created"),
            models.Index(fields=["duration_seconds", "id"], name="run_duration"),
            models.Index(fields=["model_id", "category"], name="run_model_category"),
            # The chart counts runs per day and outcome: read from this index alone, without
            # visiting the rows (which carry Dr.Gero's whole answer).
            models.Index(fields=["created_at", "category"], name="run_created_category"),
            # The chart of runs started by someone in the console counts from this index alone.
            models.Index(
                fields=["started_by_username", "origin", "created_at", "category"],
                name="run_username_origin",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} of {self.model_name or self.model_id}"


class RunTransition(models.Model):
    """A status change the console saw: the material of a run's timeline."""

    run = models.ForeignKey(RunRecord, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=64, blank=True)  # "" when first seen
    to_status = models.CharField(max_length=64, blank=True)
    from_category = models.CharField(max_length=16, blank=True)
    to_category = models.CharField(max_length=16)
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["run", "seen_at"], name="transition_run_seen")]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.from_status or '(new)'} → {self.to_status}"


class ModelSyncState(models.Model):
    """What the console knows of a model for syncing: its name, last sync, last actor."""

    model_id = models.CharField(max_length=128, primary_key=True)
    model_name = models.CharField(max_length=300, blank=True)
    # Dr.Gero answered 404 for it: its history stays, and sweeps stop reading its runs.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The last time a sweep or a sync read its runs from Dr.Gero.
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # "Check Dr.Gero for updates" was asked for and waits for the worker (cleared when done).
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_synced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # A member whose token listed the model in the last discovery sweep: only a 404 to a token
    # that could read it says the model is gone; to others it may be another workspace's.
    listed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The model as the discovery sweep last read it (Dr.Gero's object, as it came), its
    # leaderboards and its base model's name: what members without a token of their own see.
    details = models.JSONField(default=dict, blank=True)
    leaderboards = models.JSONField(null=True, blank=True)  # [{id, name, description}]
    base_model_name = models.CharField(max_length=300, blank=True)
    details_read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sync state of {self.model_name or self.model_id}"

    @property
    def sync_pending(self) -> bool:
        return self.sync_requested_at is not None


class MirrorState(models.Model):
    """The runs mirror's state, one row: a token replaced after every commit that writes a run.
    The run history's kept table and chart are kept per token (console.fragments)."""

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"runs mirror state {self.token}"


class SweepState(models.Model):
    """One background sweep (``discovery`` or ``active``): its chain, health and back-off."""

    name = models.CharField(max_length=32, primary_key=True)
    # Each chain of self-scheduled sweeps carries an id; a link whose id is not this one ends.
    chain_id = models.CharField(max_length=64, blank=True)
    chain_started_at = models.DateTimeField(null=True, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)  # the last sweep that read Dr.Gero
    failing_since = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive
    last_error = models.CharField(max_length=300, blank=True)  # plain words, never a secret
    last_calls = models.PositiveIntegerField(default=0)  # Dr.Gero calls of the last sweep

    def __str__(self) -> str:
        return f"{self.name} sweep"


class SubmissionState(models.TextChoices):
    PENDING = "pending", "Waiting for confirmation"
    SENDING = "sending", "Being sent to Dr.Gero"
    SUCCEEDED = "succeeded", "Started"
    FAILED = "failed", "Refused"
    UNKNOWN = "unknown", "Unknown"


class RunSubmission(models.Model):
    """One intent to start a run; the confirm step may claim it exactly once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    model_id = models.CharField(max_length=128)
    model_name = models.CharField(max_length=300, blank=True)
    settings = models.JSONField()
    state = models.CharField(
        max_length=16, choices=SubmissionState.choices, default=SubmissionState.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    run_id = models.CharField(max_length=128, blank=True)
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    note = models.CharField(max_length=500, blank=True)  # why, given at the confirmation

    class Meta:
        indexes = [models.Index(fields=["model_id", "state"], name="submission_model_state")]

    def __str__(self) -> str:
        return f"run submission {self.id} ({self.state})"
