"""A run's own page: what the mirror knows of it, its timeline, and the audit events about it."""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Q

from console.models import (
    AuditEvent,
    ModelSyncState,
    RunOrigin,
    RunRecord,
    RunSubmission,
    RunTransition,
    SubmissionState,
)
from console.vocabulary import CATEGORY_WORDS

ESTIMATE_FROM = 10  # finished runs an estimate looks at


@dataclass(frozen=True)
class Step:
    at: datetime | None
    what: str
    by: str  # "Dr.Gero" (its own timestamp) or "the console" (when it saw the change)
    # When the console saw this step, shown (quieter) only where it differs from Dr.Gero's
    # time by more than SEEN_APART: an old run seen for the first time today, a late sweep.
    seen_at: datetime | None = None
    first_seen: bool = False


SEEN_APART = timedelta(minutes=1)


@dataclass(frozen=True)
class RunView:
    record: RunRecord | None
    submission: RunSubmission | None  # a start whose outcome is unknown: known by this only
    timeline: list[Step]
    events: list[AuditEvent]
    model_deleted: bool = False

    @property
    def model_id(self) -> str:
        source = self.record or self.submission
        return source.model_id if source else ""

    @property
    def model_name(self) -> str:
        source = self.record or self.submission
        return (source.model_name or source.model_id) if source else ""


def run_view(run_id: str) -> RunView | None:
    """The run with this Dr.Gero id, or the unknown start with this submission id; else None."""
    record = RunRecord.objects.filter(run_id=run_id).select_related("started_by").first()
    submission = RunSubmission.objects.filter(run_id=run_id).first() if record else None
    if record is None:
        submission = _unknown_start(run_id)
        if submission is None:
            return None
    events = _events(run_id, submission)
    model_id = (record or submission).model_id  # type: ignore[union-attr]
    deleted = ModelSyncState.objects.filter(pk=model_id, deleted_at__isnull=False).exists()
    timeline = _timeline(record) if record else []
    return RunView(record, submission, timeline, events, deleted)


def resolved_start(ident: str) -> RunSubmission | None:
    """A start whose outcome was unknown and is known now (a run, or none), by its id: the
    page the person was sent to while it was unknown leads on from there."""
    try:
        pk = uuid.UUID(ident)
    except ValueError:
        return None
    return (
        RunSubmission.objects.filter(pk=pk)
        .exclude(state__in=[SubmissionState.UNKNOWN, SubmissionState.PENDING])
        .first()
    )


def _unknown_start(ident: str) -> RunSubmission | None:
    try:
        pk = uuid.UUID(ident)
    except ValueError:
        return None
    return RunSubmission.objects.filter(pk=pk, state=SubmissionState.UNKNOWN).first()


def _events(run_id: str, submission: RunSubmission | None) -> list[AuditEvent]:
    about = Q(target_type="run", target_id=run_id)
    if submission is not None and submission.audit_seq:
        about |= Q(seq=submission.audit_seq)
    events = list(AuditEvent.objects.filter(about).order_by("seq")[:50])
    earlier = {e.refers_to_seq for e in events if e.refers_to_seq} - {e.seq for e in events}
    if earlier:
        events = sorted([*events, *AuditEvent.objects.filter(seq__in=earlier)], key=lambda e: e.seq)
    return events


def _label(category: str, status: str) -> str:
    return CATEGORY_WORDS.get(category, status).split(" — ")[0]


def _timeline(record: RunRecord) -> list[Step]:
    """Each event of the run once, in time order, at Dr.Gero's time where it gave one.

    A status change the console saw is folded into the Dr.Gero step it is (created, started
    training, finished); its own time shows only when it is more than a minute off. Changes
    with no Dr.Gero time (unknown, no longer listed, unreadable) are steps of their own, at
    the time the console saw them.
    """
    drgero: dict[str, tuple[datetime, str]] = {}
    if record.raw.get("created_at") or record.origin == RunOrigin.CONSOLE:
        drgero["created"] = (record.created_at, "Created")
    if record.started_at:
        drgero["started"] = (record.started_at, "Started training")
    if record.finished_at:
        drgero["finished"] = (record.finished_at, f"Finished: {_label(record.category, '')}")
    seen: dict[str, tuple[datetime, bool]] = {}
    own: list[Step] = []
    for change in RunTransition.objects.filter(run=record).order_by("seen_at", "pk"):
        first = not change.from_status
        step = {"queued": "created", "running": "started"}.get(change.to_category)
        if change.to_category in ("succeeded", "failed", "cancelled"):
            step = "finished"
        if step == "started" and "started" not in drgero and first:
            step = "created"  # first seen running, with no start time: it was made by then
        if step in drgero and step not in seen:
            seen[step] = (change.seen_at, first)
            continue
        label = _label(change.to_category, change.to_status)
        what = f"First seen, {label.lower()}" if first else f"Seen {label.lower()}"
        if change.to_category == "unknown":
            what += f" ({change.to_status})"
        if step == "finished" and "finished" not in drgero:
            what = f"Finished: {label}"
        own.append(Step(change.seen_at, what, "the console", first_seen=first))
    steps = own
    for key, (at, what) in drgero.items():
        seen_at, first = seen.get(key, (None, False))
        apart = seen_at is not None and abs(seen_at - at) > SEEN_APART
        steps.append(Step(at, what, "Dr.Gero", seen_at if apart else None, first and apart))
    return sorted(steps, key=lambda s: (s.at is None, s.at or datetime.min))


@dataclass(frozen=True)
class Estimate:
    median: int
    shortest: int
    longest: int
    count: int


def duration_estimate(model_id: str) -> Estimate | None:
    """From the model's last ten finished runs with a known duration; None without any."""
    found = list(
        RunRecord.objects.filter(
            model_id=model_id,
            category__in=("succeeded", "failed", "cancelled"),
            duration_seconds__isnull=False,
        )
        .order_by("-created_at")
        .values_list("duration_seconds", flat=True)[:ESTIMATE_FROM]
    )
    durations: list[int] = [d for d in found if d is not None]
    if not durations:
        return None
    return Estimate(
        int(statistics.median(durations)), min(durations), max(durations), len(durations)
    )


def last_console_run(model_id: str) -> RunRecord | None:
    """The model's newest run started in the console: its settings are the next run's defaults."""
    return (
        RunRecord.objects.filter(model_id=model_id, origin=RunOrigin.CONSOLE)
        .exclude(dataset_algorithm="")
        .order_by("-created_at", "-pk")
        .first()
    )


DEFAULTS = {
    "size": "rows",
    "rows": 1000,
    "algorithm": "LAST_N",
    "create_synthetic_data": False,
}


def settings_of(record: RunRecord) -> dict[str, object]:
    """A mirrored run's settings as the start form's initial values."""
    return {
        "size": "auto" if record.dataset_auto else "rows",
        "rows": record.dataset_rows or DEFAULTS["rows"],
        "algorithm": record.dataset_algorithm or DEFAULTS["algorithm"],
        "create_synthetic_data": bool(record.create_synthetic_data),
        "hypertuning_enabled": bool(record.hypertuning_enabled),
    }


def start_defaults(
    model_id: str, *, model_hypertuning: bool | None, from_run: str = ""
) -> tuple[dict[str, object], str]:
    """The start form's first values, and where they come from in plain words.

    "Run again" takes every setting of that run. Otherwise hyperparameter tuning follows the
    model's own setting, and the rest the model's last run started in the console, else the
    documented defaults.
    """
    if from_run:
        source = RunRecord.objects.filter(run_id=from_run, model_id=model_id).first()
        if source is not None:
            return settings_of(source), "These are the settings of the run you chose to repeat."
    last = last_console_run(model_id)
    initial: dict[str, object] = dict(DEFAULTS)
    note = "Dataset settings are the defaults."
    if last is not None:
        initial.update(settings_of(last))
        note = "Dataset settings are those of this model's last run from the console."
    initial["hypertuning_enabled"] = bool(model_hypertuning)
    tuning = "on" if model_hypertuning else "off"
    return initial, f"{note} Hyperparameter tuning starts {tuning}, as the model is set."


def member_submission(user: User, ident: object) -> RunSubmission | None:
    """The member's own run submission with this id; None for another's, or a malformed id."""
    try:
        pk = uuid.UUID(str(ident))
    except ValueError:
        return None
    return RunSubmission.objects.filter(pk=pk, user=user).first()
