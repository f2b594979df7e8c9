"""Reads of the runs mirror that more than one page needs: names, latest runs, freshness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from console.models import DrGeroToken, ModelSyncState, RunRecord, SweepState
from console.selectors.compiled import Compiled
from console.vocabulary import ACTIVE_CATEGORIES

# A run in one of these may still change: the active sweep reads its model.
WATCHED_CATEGORIES = (*ACTIVE_CATEGORIES, "unknown", "unreadable")
FINAL_CATEGORIES = ("succeeded", "failed", "cancelled", "gone")
WORKER_QUIET = timedelta(minutes=5)  # the active sweep starts every 15 s while it runs
SYNC_WAIT = timedelta(minutes=2)


def known_model_name(model_id: str) -> str:
    """The name the console last saw for a model ("" when it never saw one)."""
    state = ModelSyncState.objects.filter(pk=model_id).only("model_name").first()
    if state and state.model_name:
        return state.model_name
    record = RunRecord.objects.filter(model_id=model_id).exclude(model_name="").first()
    return record.model_name if record else ""


def active_run(model_id: str) -> RunRecord | None:
    """The model's newest queued or running run, as the mirror has it."""
    return (
        RunRecord.objects.filter(model_id=model_id, category__in=ACTIVE_CATEGORIES)
        .order_by("-created_at")
        .first()
    )


def _latest_of(*model_ids: str) -> QuerySet[RunRecord]:
    newest = (
        RunRecord.objects.filter(model_id=OuterRef("model_id"))
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )
    ids = ModelSyncState.objects.filter(pk__in=model_ids).values(latest=Subquery(newest))
    return RunRecord.objects.filter(pk__in=ids).defer("raw")


LATEST_OF = Compiled(RunRecord, _latest_of, lambda i: f"\x00stand-in model {i}")


def latest_runs(model_ids: list[str]) -> dict[str, RunRecord]:
    """The newest mirrored run of each model, in one query: for each model the console knows,
    its newest run's id from the ``run_model_created`` index, whatever the history's size."""
    if not model_ids:
        return {}
    return {r.model_id: r for r in LATEST_OF.rows(*map(str, model_ids))}


RECENT_RUNS = 5
_RECENT = Compiled(
    RunRecord,
    lambda model_id: RunRecord.objects.filter(model_id=model_id).order_by("-created_at", "-pk")[
        :RECENT_RUNS
    ],
    lambda i: f"\x00stand-in model {i}",
)


def model_recent_runs(model_id: str) -> list[RunRecord]:
    """A model page's latest runs (``RECENT_RUNS`` of them), from the mirror."""
    return _RECENT.rows(model_id)


@dataclass(frozen=True)
class Freshness:
    """How current the mirror is, for the banner above every history."""

    last_checked_at: datetime | None  # the last time Dr.Gero's runs were read
    failing_since: datetime | None  # set while the worker cannot reach Dr.Gero
    last_error: str
    no_reader: bool  # no active member has a Dr.Gero token the worker could use
    sync_pending: bool = False  # a "Check Dr.Gero for updates" waits for the worker
    deleted_at: datetime | None = None
    worker_quiet: bool = False  # no sweep has started for a while: is the worker running?
    sync_waiting_long: bool = False  # a check asked for minutes ago is still waiting


# Asked by every history page and its polls: compiled once (console/selectors/compiled.py).
SWEEPS = Compiled(SweepState, lambda: SweepState.objects.all(), str)
A_READER = Compiled(
    DrGeroToken, lambda: DrGeroToken.objects.filter(user__is_active=True).only("pk")[:1], str
)
SYNC_STATE = Compiled(
    ModelSyncState,
    lambda model_id: ModelSyncState.objects.filter(pk=model_id).order_by("pk")[:1],
    lambda i: f"\x00stand-in model {i}",
)
MODEL_NAMES = Compiled(
    ModelSyncState, lambda: ModelSyncState.objects.values_list("model_id", "model_name"), str
)


def mirror_freshness(model_id: str | None = None) -> Freshness:
    """The team's (or one model's) last check with Dr.Gero, and whether the worker is failing."""
    sweeps = SWEEPS.rows()
    failing = [s for s in sweeps if s.failing_since]
    failing_since = min((s.failing_since for s in failing if s.failing_since), default=None)
    last_error = failing[0].last_error if failing else ""
    no_reader = A_READER.first() is None
    now = timezone.now()
    started = max((s.last_started_at for s in sweeps if s.last_started_at), default=None)
    quiet = not no_reader and (started is None or started < now - WORKER_QUIET)
    if model_id is None:
        checked = max((s.last_ok_at for s in sweeps if s.last_ok_at), default=None)
        return Freshness(checked, failing_since, last_error, no_reader, worker_quiet=quiet)
    state = SYNC_STATE.first(model_id)
    asked = state.sync_requested_at if state else None
    return Freshness(
        state.last_checked_at if state else None,
        failing_since,
        last_error,
        no_reader,
        sync_pending=asked is not None,
        deleted_at=state.deleted_at if state else None,
        worker_quiet=quiet,
        sync_waiting_long=asked is not None and asked < now - SYNC_WAIT,
    )


def model_choices() -> list[tuple[str, str]]:
    """Every model the mirror knows, by name, for the filters: (id, name)."""
    names = MODEL_NAMES.tuples()
    return sorted(((k, v or k) for k, v in names), key=lambda c: c[1].lower())


def model_sync_state(model_id: str | None) -> ModelSyncState | None:
    """What the console keeps of a model for syncing (who checked it by hand, and when)."""
    return SYNC_STATE.first(model_id) if model_id else None
