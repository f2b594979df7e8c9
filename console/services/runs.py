"""Fine-tune runs: start one run per intent, sync, keep the mirror, poll while runs are active."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone

from console.crypto import TokenUnavailableError
from console.models import (
    AuditEvent,
    ModelSyncState,
    RunOrigin,
    RunRecord,
    RunSubmission,
    SubmissionState,
)
from console.services.audit import Actor, Target, audit_record
from console.services.drgero import Outcome, Problem
from console.services.tokens import NoTokenError, client_for, member_call
from console.vocabulary import ACTIVE_CATEGORIES, dataset_phrase, status_category
from drgero_client import DatasetSize, DrGeroClient, DrGeroError, Run

MAX_ROWS = 10_000_000
CLOCK_SKEW = timedelta(minutes=5)  # how far Dr.Gero's clock may lag ours when matching runs


@dataclass(frozen=True)
class RunSettings:
    """What a member chose for a run; the same shape serves schedules' datasets."""

    auto: bool
    rows: int | None
    algorithm: str
    create_synthetic_data: bool
    hypertuning_enabled: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "auto": self.auto,
            "rows": None if self.auto else self.rows,
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
        return DatasetSize(
            auto=self.auto, rows=None if self.auto else self.rows, algorithm=self.algorithm
        )

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


# -- the mirror ---------------------------------------------------------------------------


def remember_model(model_id: str, name: str | None = None, *, actor: Any = None) -> None:
    """Note a model the console has seen (for sync_runs) and who last acted on it."""
    defaults: dict[str, Any] = {}
    if name:
        defaults["model_name"] = name
    if actor is not None and getattr(actor, "is_authenticated", False):
        defaults["last_actor"] = actor
    state, created = ModelSyncState.objects.get_or_create(model_id=model_id, defaults=defaults)
    changed: dict[str, Any] = {}
    if name and state.model_name != name:
        changed["model_name"] = name
    if "last_actor" in defaults and state.last_actor_id != actor.pk:
        changed["last_actor"] = actor
    if not created and changed:
        # Only what differs: mirror refreshes and polls call this on every read.
        ModelSyncState.objects.filter(pk=model_id).update(**changed)


def known_model_name(model_id: str) -> str:
    """The name the console last saw for a model ("" when it never saw one)."""
    state = ModelSyncState.objects.filter(pk=model_id).only("model_name").first()
    if state and state.model_name:
        return state.model_name
    record = RunRecord.objects.filter(model_id=model_id).exclude(model_name="").first()
    return record.model_name if record else ""


def _record_fields(run: Run, model_name: str) -> dict[str, Any]:
    dataset = run.dataset_size
    duration = None
    if run.started_at and run.finished_at:
        duration = max(0, int((run.finished_at - run.started_at).total_seconds()))
    fields: dict[str, Any] = {
        "status": run.status[:64],
        "category": status_category(run.status),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": duration,
        "dataset_auto": dataset.auto if dataset else None,
        "dataset_rows": dataset.rows if dataset else None,
        "dataset_algorithm": (dataset.algorithm if dataset else "")[:32],
        "create_synthetic_data": run.create_synthetic_data,
        "hypertuning_enabled": run.hypertuning_enabled,
        "error": run.error or "",
        "raw": run.raw,
    }
    if model_name:
        fields["model_name"] = model_name[:300]
    if run.created_at is None:
        del fields["created_at"]  # keep what the mirror has; a new row uses first_seen_at
    return fields


def mirror_upsert(
    *,
    model_id: str,
    runs: list[Run],
    model_name: str = "",
    synced_by: Any = None,
    started_by: Any = None,
) -> list[RunRecord]:
    """Record what Dr.Gero reports; a run first seen here is external unless ``started_by``."""
    if not runs:
        return []
    name = model_name or known_model_name(model_id)
    remember_model(model_id, name)
    now = timezone.now()
    records = []
    with transaction.atomic():
        existing = {
            r.run_id: r
            for r in RunRecord.objects.select_for_update().filter(
                run_id__in=[run.id for run in runs]
            )
        }
        for run in runs:
            fields = _record_fields(run, name)
            if synced_by is not None:
                fields.update(synced_by=synced_by, synced_at=now)
            if started_by is not None:
                fields.update(
                    started_by=started_by,
                    started_by_username=started_by.get_username(),
                    origin=RunOrigin.CONSOLE,
                )
            record = existing.get(run.id)
            if record is None:
                fields.setdefault("origin", RunOrigin.EXTERNAL)
                fields.setdefault("created_at", now)
                record = RunRecord.objects.create(
                    run_id=run.id, model_id=run.model_id or model_id, first_seen_at=now, **fields
                )
            else:
                for key, value in fields.items():
                    setattr(record, key, value)
                record.save()
            records.append(record)
    return records


def runs_refresh(*, client: DrGeroClient, model_id: str, synced_by: Any = None) -> list[Run]:
    """Read a model's runs (GET; ``models:read`` is enough) into the mirror. Writes no event."""
    runs = client.list_runs(model_id)
    mirror_upsert(model_id=model_id, runs=runs, synced_by=synced_by)
    return runs


def active_run(model_id: str) -> RunRecord | None:
    return (
        RunRecord.objects.filter(model_id=model_id, category__in=ACTIVE_CATEGORIES)
        .order_by("-created_at")
        .first()
    )


# -- start one run per intent -------------------------------------------------------------


def run_prepare(
    *, user: Any, model_id: str, model_name: str, settings: RunSettings
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


def _unknown(problem: Problem) -> bool:
    """The start may have happened: no answer after sending, a gateway error, garbage back."""
    if problem.kind in ("unavailable", "bad_answer", "error"):
        return not problem.nothing_changed or (problem.status_code or 0) >= 500
    return False


def run_start(*, user: Any, submission_id: Any, request: HttpRequest | None = None) -> StartResult:
    """Send the submission's start once. A double click, a resubmit or a second tab sends nothing.

    The POST is never retried. When its outcome is unknown, the model's runs are read back and
    a matching new run resolves it as a second audit event.
    """
    claimed = RunSubmission.objects.filter(
        pk=submission_id, user=user, state=SubmissionState.PENDING
    ).update(state=SubmissionState.SENDING, sent_at=timezone.now())
    submission = RunSubmission.objects.get(pk=submission_id, user=user)
    if not claimed:
        return StartResult(submission, duplicate=True)

    settings = RunSettings.from_dict(submission.settings)
    model_id, name = submission.model_id, submission.model_name
    target = Target("model", model_id, name)
    remember_model(model_id, name, actor=user)
    changes = {"settings": settings.as_dict()}

    try:
        client = client_for(user)
    except (NoTokenError, TokenUnavailableError):
        client = None  # member_call below explains it; nothing is sent
    known_ids: set[str] = set()
    if client is not None:
        try:
            known_ids = {r.id for r in runs_refresh(client=client, model_id=model_id)}
        except DrGeroError:
            known_ids = set(
                RunRecord.objects.filter(model_id=model_id).values_list("run_id", flat=True)
            )
    active = active_run(model_id)
    if active is not None:
        message = "A run of this model is already queued or running; wait for it to finish."
        _finish(submission, SubmissionState.FAILED, message=message)
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
        event = audit_record(
            actor=Actor.of(user),
            action="run.start",
            outcome="succeeded",
            target=Target("run", run.id, name, model_id),
            changes=changes,
            request=request,
        )
        _finish(submission, SubmissionState.SUCCEEDED, run_id=run.id, event=event)
        return StartResult(submission)
    if problem is not None and not _unknown(problem):
        event = audit_record(
            actor=Actor.of(user),
            action="run.start",
            outcome="failed",
            target=target,
            changes=changes,
            status_code=problem.status_code,
            message=problem.message,
            request=request,
        )
        _finish(submission, SubmissionState.FAILED, message=problem.message, event=event)
        return StartResult(submission, problem=problem)

    # Sent, but how it ended is unknown (or Dr.Gero accepted without describing the run).
    event = audit_record(
        actor=Actor.of(user),
        action="run.start",
        outcome="unknown",
        target=target,
        changes=changes,
        status_code=problem.status_code if problem else None,
        message=problem.message if problem else "Dr.Gero accepted the start without a run id.",
        request=request,
    )
    _finish(submission, SubmissionState.UNKNOWN, event=event)
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
            "unknown_start",
            message,
            502,
            problem.status_code if problem else None,
            nothing_changed=False,
        ),
    )


def _finish(
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
    user: Any,
    submission: RunSubmission,
    known_ids: set[str],
    sent_at: Any,
    request: HttpRequest | None,
) -> bool:
    """Find the one new run that matches an unknown start; attribute it and say so."""
    try:
        client = client_for(user)
        runs = runs_refresh(client=client, model_id=submission.model_id)
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
    user: Any,
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
    first = AuditEvent.objects.filter(seq=submission.audit_seq).first()
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


# -- sync and polling ---------------------------------------------------------------------


def run_sync(
    *, user: Any, model_id: str, run_id: str | None = None, request: HttpRequest | None = None
) -> Outcome[list[Run]]:
    """A person's "Sync now" (POST sync, needs models:fine-tune); audited."""
    name = known_model_name(model_id)
    outcome = member_call(
        user,
        lambda c: c.sync_runs(model_id, run_id=run_id),
        write=True,
        scope="models:fine-tune",
    )
    if outcome.problem and outcome.problem.needs_token:
        return outcome
    target = Target("run", run_id, name, model_id) if run_id else Target("model", model_id, name)
    problem = outcome.problem
    runs = outcome.value or []
    audit_record(
        actor=Actor.of(user),
        action="run.sync",
        outcome="succeeded" if problem is None else "failed",
        target=target,
        changes={"run_id": run_id or "all", "runs": len(runs)},
        status_code=problem.status_code if problem else None,
        message=problem.message if problem else "",
        request=request,
    )
    if problem is None:
        mirror_upsert(model_id=model_id, runs=runs, model_name=name, synced_by=user)
        ModelSyncState.objects.update_or_create(
            model_id=model_id,
            defaults={"last_synced_at": timezone.now(), "last_synced_by": user, "last_actor": user},
        )
        pending = RunSubmission.objects.filter(model_id=model_id, state=SubmissionState.UNKNOWN)
        for submission in pending:
            resolve_pending(
                user=user,
                submission=submission,
                runs=runs,
                known_ids=set(),
                sent_at=submission.sent_at or submission.created_at,
                request=request,
            )
    return outcome


def runs_poll(*, user: Any, model_ids: list[str]) -> None:
    """Refresh models with active runs, at most once per model per POLL_SECONDS for everyone.

    A GET (models:read is enough); writes no audit events. The caller renders from the mirror.
    """
    seconds = poll_seconds()
    due = [m for m in model_ids if cache.add(f"console:runs-poll:{m}", 1, seconds)]
    if not due:
        return
    try:
        client = client_for(user)
    except (NoTokenError, TokenUnavailableError):
        return  # the page shows the mirror as it is
    for model_id in due:
        try:
            runs_refresh(client=client, model_id=model_id)
        except DrGeroError:
            continue


def poll_seconds() -> int:
    return int(getattr(django_settings, "CONSOLE_POLL_SECONDS", 5))


def models_needing_poll(queryset: Any) -> list[str]:
    return sorted(
        set(queryset.filter(category__in=ACTIVE_CATEGORIES).values_list("model_id", flat=True))
    )


def latest_runs(model_ids: list[str]) -> dict[str, RunRecord]:
    """The newest mirrored run of each model: two indexed queries, whatever the history's size."""
    newest = (
        RunRecord.objects.filter(model_id__in=model_ids)
        .values("model_id")
        .annotate(at=Max("created_at"))
        .order_by()
    )
    match = Q(pk__in=[])
    for row in newest:
        match |= Q(model_id=row["model_id"], created_at=row["at"])
    latest: dict[str, RunRecord] = {}
    for record in RunRecord.objects.filter(match).order_by("-pk"):
        latest.setdefault(record.model_id, record)
    return latest


# -- the scheduled refresh ----------------------------------------------------------------


def sync_member_for(model_id: str) -> tuple[Any, DrGeroClient] | None:
    """An active member whose token is set and readable; the model's last actor first."""
    User = get_user_model()  # noqa: N806
    state = ModelSyncState.objects.filter(pk=model_id).first()
    candidates = []
    if state and state.last_actor_id:
        candidates.append(state.last_actor)
    candidates += list(
        User.objects.filter(is_active=True, drgero_token__isnull=False).order_by("pk")
    )
    for member in candidates:
        if member is None or not member.is_active:
            continue
        try:
            return member, client_for(member)
        except (NoTokenError, TokenUnavailableError):
            continue  # no or unreadable token: try the next member
    return None


def detail_runs(model: Any, runs: list[Run] | None, *, count: int = 5) -> list[RunRecord]:
    """The model page's latest runs: what Dr.Gero just reported, kept in the mirror, with who
    started each. A read; writes no audit event."""
    if runs:
        mirror_upsert(model_id=model.id, runs=runs, model_name=model.name)  # remembers the model
    else:
        remember_model(model.id, model.name)
    return list(RunRecord.objects.filter(model_id=model.id).order_by("-created_at", "-pk")[:count])
