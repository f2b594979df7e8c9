"""Fine-tune runs: start one run per intent, and a person's "Check Dr.Gero for updates"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone

from console.crypto import TokenUnavailableError
from console.models import (
    AuditEvent,
    RunOrigin,
    RunRecord,
    RunSubmission,
    SubmissionState,
)
from console.selectors.mirror import active_run
from console.services.audit import Actor, Target, audit_record
from console.services.drgero import Problem, ProblemKind
from console.services.mirror import mirror_upsert, remember_model, runs_refresh
from console.services.tokens import NoTokenError, client_for, member_call
from console.vocabulary import dataset_phrase
from drgero_client import DatasetSize, DrGeroError, Run

MAX_ROWS = 10_000_000
CLOCK_SKEW = timedelta(minutes=5)  # how far Dr.Gero's clock may lag ours when matching runs


@dataclass(frozen=True)
class RunSettings:
    """What a member chose for a run: the dataset, synthetic data and tuning.

    Kept with the run's one-time submission as JSON (``as_dict``), and read back from it.
    """

    auto: bool
    rows: int | None
    algorithm: str
    create_synthetic_data: bool
    hypertuning_enabled: bool

    def __post_init__(self) -> None:
        # Held as the dataset it is: no row count when the size is automatic.
        object.__setattr__(self, "rows", self.dataset().rows)

    def as_dict(self) -> dict[str, Any]:
        """For the submission's JSON field; ``from_dict`` reads it back."""
        return {
            "auto": self.auto,
            "rows": self.rows,
            "algorithm": self.algorithm,
            "create_synthetic_data": self.create_synthetic_data,
            "hypertuning_enabled": self.hypertuning_enabled,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSettings:
        return cls(
            bool(data["auto"]),
            data.get("rows"),
            data["algorithm"],
            bool(data["create_synthetic_data"]),
            bool(data["hypertuning_enabled"]),
        )

    def dataset(self) -> DatasetSize:
        return DatasetSize.of(auto=self.auto, rows=self.rows, algorithm=self.algorithm)

    def matches(self, run: Run) -> bool:
        """The run was started with these settings (as far as Dr.Gero reports them)."""
        dataset = run.dataset_size
        if dataset is None:
            return False
        same_size = dataset.auto == self.auto and (self.auto or dataset.rows == self.rows)
        return (
            same_size
            and dataset.algorithm == self.algorithm
            and bool(run.create_synthetic_data) == self.create_synthetic_data
            and bool(run.hypertuning_enabled) == self.hypertuning_enabled
        )


def run_sentence(model_name: str, settings: RunSettings) -> str:
    """The confirmation question, in plain words."""
    data = dataset_phrase(auto=settings.auto, rows=settings.rows, algorithm=settings.algorithm)
    synthetic = (
        "with synthetic data" if settings.create_synthetic_data else "without synthetic data"
    )
    tuning = (
        "with hyperparameter tuning"
        if settings.hypertuning_enabled
        else "without hyperparameter tuning"
    )
    return f"Start a fine-tune run of {model_name} on {data}, {synthetic}, {tuning}?"


# Start one run per intent.


def run_prepare(
    *, user: User, model_id: str, model_name: str, settings: RunSettings
) -> RunSubmission:
    """The one-time submission id that the confirm step carries."""
    return RunSubmission.objects.create(
        user=user, model_id=model_id, model_name=model_name, settings=settings.as_dict()
    )


@dataclass(frozen=True)
class StartResult:
    submission: RunSubmission
    problem: Problem | None = None
    duplicate: bool = False  # this intent was already sent; nothing was sent again
    refused_active: RunRecord | None = None

    @property
    def started(self) -> bool:
        return self.submission.state == SubmissionState.SUCCEEDED


def _may_have_started(problem: Problem) -> bool:
    """The start may have happened: no answer after sending, a gateway error, garbage back."""
    if problem.kind in ("unavailable", "bad_answer", "error"):
        return not problem.nothing_changed or (problem.drgero_status or 0) >= 500
    return False


def run_start(
    *, user: User, submission_id: Any, note: str = "", request: HttpRequest | None = None
) -> StartResult:
    """Send the submission's start once. A double click, a resubmit or a second tab sends nothing.

    The POST is never retried. When its outcome is unknown, the model's runs are read back and
    a matching new run resolves it as a second audit event.
    """
    claimed = RunSubmission.objects.filter(
        pk=submission_id, user=user, state=SubmissionState.PENDING
    ).update(state=SubmissionState.SENDING, sent_at=timezone.now(), note=note)
    submission = RunSubmission.objects.get(pk=submission_id, user=user)
    if not claimed:
        return StartResult(submission, duplicate=True)

    settings = RunSettings.from_dict(submission.settings)
    model_id, name = submission.model_id, submission.model_name
    target = Target("model", model_id, name)
    remember_model(model_id, name, actor=user)
    changes: dict[str, Any] = {"settings": settings.as_dict()}
    if note:
        changes["note"] = note

    try:
        client = client_for(user)
    except (NoTokenError, TokenUnavailableError):
        client = None  # member_call below explains it; nothing is sent
    known_ids: set[str] = set()
    if client is not None:
        try:
            known_ids = {r.id for r in runs_refresh(client=client, model_id=model_id)[0]}
        except DrGeroError:
            known_ids = set(
                RunRecord.objects.filter(model_id=model_id).values_list("run_id", flat=True)
            )
    active = active_run(model_id)
    if active is not None:
        message = "A run of this model is already queued or running; wait for it to finish."
        _settle(submission, SubmissionState.FAILED, message=message)
        audit_record(
            actor=Actor.of(user),
            action="run.start",
            outcome="failed",
            target=target,
            changes=changes,
            message=message,
            request=request,
        )
        return StartResult(submission, refused_active=active)

    sent_at = timezone.now()
    outcome = member_call(
        user,
        lambda c: c.start_run(
            model_id,
            dataset_size=settings.dataset(),
            create_synthetic_data=settings.create_synthetic_data,
            hypertuning_enabled=settings.hypertuning_enabled,
        ),
        write=True,
        scope="models:fine-tune",
    )
    problem = outcome.problem
    if problem is None and outcome.value is not None:
        run = outcome.value
        mirror_upsert(model_id=model_id, runs=[run], model_name=name, started_by=user)
        _keep_note(run.id, note)
        event = audit_record(
            actor=Actor.of(user),
            action="run.start",
            outcome="succeeded",
            target=Target("run", run.id, name, model_id),
            changes=changes,
            request=request,
        )
        _settle(submission, SubmissionState.SUCCEEDED, run_id=run.id, event=event)
        return StartResult(submission)
    if problem is not None and not _may_have_started(problem):
        event = audit_record(
            actor=Actor.of(user),
            action="run.start",
            outcome="failed",
            target=target,
            changes=changes,
            status_code=problem.drgero_status,
            message=problem.message,
            request=request,
        )
        _settle(submission, SubmissionState.FAILED, message=problem.message, event=event)
        return StartResult(submission, problem=problem)

    # Sent, but how it ended is unknown (or Dr.Gero accepted without describing the run).
    event = audit_record(
        actor=Actor.of(user),
        action="run.start",
        outcome="unknown",
        target=target,
        changes=changes,
        status_code=problem.drgero_status if problem else None,
        message=problem.message if problem else "Dr.Gero accepted the start without a run id.",
        request=request,
    )
    _settle(submission, SubmissionState.UNKNOWN, event=event)
    resolved = _resolve(
        user=user, submission=submission, known_ids=known_ids, sent_at=sent_at, request=request
    )
    submission.refresh_from_db()
    if resolved:
        return StartResult(submission)
    message = (
        "Dr.Gero did not confirm whether the run started. Check this model's run history for a "
        "run started just now before starting another; the console will attribute it to you "
        "when it appears."
    )
    RunSubmission.objects.filter(pk=submission.pk).update(message=message)
    submission.refresh_from_db()
    return StartResult(
        submission,
        problem=Problem(
            ProblemKind.UNKNOWN_START,
            message,
            502,
            problem.drgero_status if problem else None,
            nothing_changed=False,
        ),
    )


def _keep_note(run_id: str, note: str) -> None:
    """The starter's why goes with the run, for its page, the history and the export."""
    if note:
        RunRecord.objects.filter(run_id=run_id).update(note=note)


def _settle(
    submission: RunSubmission,
    state: str,
    *,
    run_id: str = "",
    message: str = "",
    event: AuditEvent | None = None,
) -> None:
    submission.state = state
    submission.run_id = run_id
    submission.message = message
    if event is not None:
        submission.audit_seq = event.seq
    RunSubmission.objects.filter(pk=submission.pk).update(
        state=state, run_id=run_id, message=message, audit_seq=submission.audit_seq
    )


def _resolve(
    *,
    user: User,
    submission: RunSubmission,
    known_ids: set[str],
    sent_at: Any,
    request: HttpRequest | None,
) -> bool:
    """Find the one new run that matches an unknown start; attribute it and say so."""
    try:
        client = client_for(user)
        runs, _ = runs_refresh(client=client, model_id=submission.model_id)
    except (DrGeroError, TokenUnavailableError, NoTokenError):
        return False
    return resolve_pending(
        user=user,
        submission=submission,
        runs=runs,
        known_ids=known_ids,
        sent_at=sent_at,
        request=request,
    )


def resolve_pending(
    *,
    user: User | None,
    submission: RunSubmission,
    runs: list[Run],
    known_ids: set[str],
    sent_at: Any,
    request: HttpRequest | None,
) -> bool:
    settings = RunSettings.from_dict(submission.settings)
    claimed = set(
        RunRecord.objects.filter(model_id=submission.model_id, origin=RunOrigin.CONSOLE)
        .exclude(run_id="")
        .values_list("run_id", flat=True)
    )
    candidates = [
        r
        for r in runs
        if r.id not in known_ids
        and r.id not in claimed
        and r.created_at is not None
        and r.created_at >= sent_at - CLOCK_SKEW
        and settings.matches(r)
    ]
    if len(candidates) != 1:
        return False
    run = candidates[0]
    mirror_upsert(
        model_id=submission.model_id,
        runs=[run],
        model_name=submission.model_name,
        started_by=submission.user,
    )
    _keep_note(run.id, submission.note)
    first = (
        AuditEvent.objects.filter(seq=submission.audit_seq).first()
        if submission.audit_seq
        else None
    )
    audit_record(
        actor=Actor.of(user),
        action="run.start.resolved",
        outcome="succeeded",
        target=Target("run", run.id, submission.model_name, submission.model_id),
        changes={"run_id": run.id, "settings": settings.as_dict()},
        message="The run whose start went unconfirmed was found in Dr.Gero.",
        refers_to=first,
        request=request,
    )
    RunSubmission.objects.filter(pk=submission.pk).update(
        state=SubmissionState.SUCCEEDED, run_id=run.id, message=""
    )
    return True


def resolve_unknown_starts(
    *, model_id: str, runs: list[Run], user: User | None = None, request: HttpRequest | None = None
) -> None:
    """Match the model's starts whose outcome is unknown against runs Dr.Gero just reported.

    ``user`` is who is looking (None: the worker, recorded as the system).
    """
    pending = RunSubmission.objects.filter(model_id=model_id, state=SubmissionState.UNKNOWN)
    for submission in pending.select_related("user"):
        resolve_pending(
            user=user,
            submission=submission,
            runs=runs,
            known_ids=set(),
            sent_at=submission.sent_at or submission.created_at,
            request=request,
        )
