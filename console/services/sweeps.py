"""The worker's sweeps, which keep the runs mirror complete and current.

- The discovery sweep lists every model the team's tokens can see and reads each model's runs
  (one list-runs call per model per sweep); models Dr.Gero no longer has are marked deleted
  and keep their history.
- The active sweep reads only models with a queued, running or unknown run, so it makes no
  call at all when nothing is active.

Each sweep is a chain of self-scheduled links (console/tasks.py). A chain carries an id kept in
``SweepState``; a link whose id is no longer current ends, so a restarted chain never doubles
up with the old one. Failures are recorded in plain words and back off; the mirror keeps what
it holds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import F
from django.utils import timezone

from console.models import (
    DrGeroToken,
    ModelSyncState,
    RunRecord,
    RunSubmission,
    SubmissionState,
    SweepState,
)
from console.selectors.mirror import WATCHED_CATEGORIES
from console.services.drgero import explain
from console.services.mirror import (
    BaseNames,
    model_details_keep,
    model_details_read,
    reading_members,
    remember_model,
    runs_of_deleted_model,
    runs_refresh,
    runs_unreadable,
)
from console.services.runs import resolve_unknown_starts
from drgero_client import (
    AuthenticationError,
    DrGeroClient,
    DrGeroError,
    Model,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)

log = logging.getLogger(__name__)

DISCOVERY_BOUND = 1000  # models read per token and sweep
CHAIN_GRACE = timedelta(seconds=60)  # a chain this late is taken for broken and restarted
STUCK_AFTER = timedelta(minutes=10)  # a sweep lock older than this was left by a dead worker
UNKNOWN_START_WATCH = timedelta(days=1)  # how long the active sweep looks for an unconfirmed run


@dataclass
class SweepReport:
    calls: int = 0
    models: int = 0
    runs: int = 0
    error: str = ""  # plain words; set when the sweep could not finish
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return not self.error


class _Stop(Exception):
    """Dr.Gero is failing as a whole (timeout, 5xx, 429): end this sweep and back off."""

    def __init__(self, error: DrGeroError) -> None:
        super().__init__(explain(error).message)
        self.retry_after = error.retry_after if isinstance(error, RateLimitError) else None


def _member_refused(error: DrGeroError) -> bool:
    return isinstance(error, AuthenticationError | PermissionDeniedError)


# The sweeps.


def sweep_discovery(*, bound: int = DISCOVERY_BOUND) -> SweepReport:
    """Every model the team's tokens can see, and every one of their runs."""
    report = SweepReport()
    readers = reading_members()
    if not readers:
        return report  # nothing can be read; the history pages say who should add a token
    try:
        seen, complete = _list_models(readers, bound, report)
        if not seen and not complete:
            report.error = "Dr.Gero refused every member's token the console could use."
            return report
        _read_listed(seen, report)
        if complete:
            _mark_deleted(set(seen), readers, report)
    except _Stop as stop:
        report.error, report.retry_after = str(stop), stop.retry_after
    return report


def sweep_member(member_id: int, *, bound: int = DISCOVERY_BOUND) -> SweepReport:
    """What one member's (new) token sees: its models and their runs, at once, so that they
    need not wait for the next discovery sweep. Marks nothing deleted: one token's list is not
    the team's."""
    report = SweepReport()
    readers = [(m, c) for m, c in reading_members() if m.pk == member_id]
    if not readers:
        return report
    try:
        seen, _ = _list_models(readers, bound, report)
        _read_listed(seen, report)
    except _Stop as stop:
        report.error, report.retry_after = str(stop), stop.retry_after
        log.warning("reading what member %s's token sees failed: %s", member_id, report.error)
        return report
    DrGeroToken.objects.filter(user_id=member_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return report


def _list_models(
    readers: list[tuple[Any, DrGeroClient]], bound: int, report: SweepReport
) -> tuple[dict[str, tuple[Model, list[tuple[Any, DrGeroClient]]]], bool]:
    seen: dict[str, tuple[Model, list[tuple[Any, DrGeroClient]]]] = {}
    complete = True
    for member, client in readers:
        count = 0
        try:
            for model in client.iter_models(max_items=bound):
                count += 1
                seen.setdefault(model.id, (model, []))[1].append((member, client))
        except DrGeroError as exc:
            if not _member_refused(exc):
                raise _Stop(exc) from None
            status = getattr(exc, "status", None)
            log.warning("member %s: Dr.Gero refused listing models (%s)", member.pk, status)
            complete = False
        report.calls += max(1, -(-count // 50))
        complete = complete and count < bound
    return seen, complete


Readers = list[tuple[Any, DrGeroClient]]


def _read_listed(seen: dict[str, tuple[Model, Readers]], report: SweepReport) -> None:
    """Record each listed model (a member whose token lists it; not deleted, since it is
    listed) with its details, and read its runs, through the member who last acted on it
    first."""
    states = _states(seen, details=True)
    base_names = BaseNames()
    for model_id, (model, members) in seen.items():
        state = states.get(model_id)
        remember_model(model_id, model.name, listed_by=_first_listed(state, members))
        if state is not None and state.deleted_at is not None:
            ModelSyncState.objects.filter(pk=model_id).update(deleted_at=None)
        readers = _preferred(state, members)
        report.calls += model_details_keep(model, state, readers[0][1], base_names)
        _read_runs(model_id, readers, report)
    model_details_read(list(seen))


def _states(model_ids: Iterable[str], *, details: bool = False) -> dict[str, ModelSyncState]:
    """What the sweeps need of these models' sync states (and their recorded details), in one
    query."""
    fields = ["model_id", "listed_by_id", "last_actor_id", "deleted_at"]
    if details:
        fields += ["details", "leaderboards", "base_model_name"]
    return {s.pk: s for s in ModelSyncState.objects.filter(pk__in=list(model_ids)).only(*fields)}


def _first_listed(state: ModelSyncState | None, members: Readers) -> Any:
    """The member to remember as one whose token lists the model: the one remembered already
    while they still do (no write each sweep), else the first."""
    for member, _ in members:
        if state and member.pk == state.listed_by_id:
            return member
    return members[0][0]


def _preferred(state: ModelSyncState | None, members: Readers) -> Readers:
    """The members and their clients, the member who last acted on the model first."""
    last = state.last_actor_id if state else None
    return sorted(members, key=lambda pair: pair[0].pk != last)


def _read_runs(model_id: str, readers: Readers, report: SweepReport) -> None:
    """Read the model's runs with the first reader that may; a model no reader can read any
    more keeps its history, and its runs say so instead of showing them running for ever."""
    not_found: set[int] = set()
    for member, client in readers:
        report.calls += 1
        try:
            runs, _ = runs_refresh(client=client, model_id=model_id)
        except NotFoundError:
            not_found.add(member.pk)  # another workspace's token, or the model is gone
            continue
        except DrGeroError as exc:
            if _member_refused(exc):
                status = getattr(exc, "status", None)
                log.warning("model %s: Dr.Gero refused reading its runs (%s)", model_id, status)
                continue
            raise _Stop(exc) from None
        report.models += 1
        report.runs += len(runs)
        resolve_unknown_starts(model_id=model_id, runs=runs)
        return
    _unread(model_id, not_found)


def _unread(model_id: str, not_found: set[int]) -> None:
    """No reader could read the model: gone, when a token that listed it says 404; else
    unreadable (the member who could read it left, or their token went)."""
    state = ModelSyncState.objects.filter(pk=model_id).only("listed_by_id").first()
    if state is not None and state.listed_by_id in not_found:
        ModelSyncState.objects.filter(pk=model_id).update(deleted_at=timezone.now())
        runs_of_deleted_model(model_id)
        log.info("model %s is no longer in Dr.Gero; its history stays", model_id)
    else:
        runs_unreadable(model_id)


def _mark_deleted(
    seen: set[str], readers: list[tuple[Any, DrGeroClient]], report: SweepReport
) -> None:
    """A known model no token listed is deleted when the GET of a token that listed it says
    404; when no token that could read it is left, its runs say that no token can."""
    missing = ModelSyncState.objects.filter(deleted_at__isnull=True).exclude(pk__in=seen)
    for model_id in missing.values_list("model_id", flat=True):
        readable = False
        not_found: set[int] = set()
        for member, client in readers:
            report.calls += 1
            try:
                client.get_model(model_id)
            except NotFoundError:
                not_found.add(member.pk)
                continue
            except DrGeroError as exc:
                if _member_refused(exc):
                    continue
                raise _Stop(exc) from None
            readable = True
            break
        if not readable:
            _unread(model_id, not_found)


def watched_models() -> list[str]:
    """Models with a run that may still change, or a start whose outcome is unknown."""
    runs = RunRecord.objects.filter(category__in=WATCHED_CATEGORIES).values_list(
        "model_id", flat=True
    )
    # An unconfirmed start is looked for for a day; after that its run would long have shown.
    recent = timezone.now() - UNKNOWN_START_WATCH
    starts = RunSubmission.objects.filter(
        state=SubmissionState.UNKNOWN, created_at__gte=recent
    ).values_list("model_id", flat=True)
    deleted = set(
        ModelSyncState.objects.filter(deleted_at__isnull=False).values_list("model_id", flat=True)
    )
    return sorted((set(runs) | set(starts)) - deleted)


def sweep_active() -> SweepReport:
    """Read the runs of models whose runs may still change; no call when there are none."""
    report = SweepReport()
    models = watched_models()
    readers = reading_members() if models else []  # tokens decrypted once per sweep
    if not readers:
        for model_id in models:
            runs_unreadable(model_id)  # no member's token at all: the runs say so
        return report
    states = _states(models)
    try:
        for model_id in models:
            _read_runs(model_id, _preferred(states.get(model_id), readers), report)
    except _Stop as stop:
        report.error, report.retry_after = str(stop), stop.retry_after
    return report


SWEEPS: dict[str, Callable[[], SweepReport]] = {
    "discovery": sweep_discovery,
    "active": sweep_active,
}


def interval(name: str) -> float:
    if name == "discovery":
        return float(settings.CONSOLE_SYNC_IDLE_SECONDS)
    return float(settings.CONSOLE_SYNC_ACTIVE_SECONDS)


# Chains.


def chain_link(name: str, chain_id: str) -> float | None:
    """Run one sweep if ``chain_id`` is the current chain; the delay to the next link, or None."""
    now = timezone.now()
    if not SweepState.objects.filter(name=name, chain_id=chain_id).update(last_started_at=now):
        return None  # a newer chain replaced this one
    try:
        _, delay = sweep_once(name)
    except DatabaseError as exc:
        # The database went away mid-sweep (a restart, a dropped connection): what was written
        # is whole, since each run's change commits with its notices. Start again on a fresh
        # connection and back off like any failed sweep, so the chain goes on.
        log.warning("%s sweep lost its database connection: %s", name, type(exc).__name__)
        connection.close()
        delay = _record(name, SweepReport(error="The console's database did not answer."))
    due = timezone.now() + timedelta(seconds=delay)
    if not SweepState.objects.filter(name=name, chain_id=chain_id).update(next_due_at=due):
        return None
    return delay


def sweep_once(name: str) -> tuple[SweepReport, float]:
    """Run one sweep and record how it went; the report and the delay to the next one."""
    SweepState.objects.get_or_create(name=name)
    report = SWEEPS[name]()
    return report, _record(name, report)


def chain_busy(name: str, chain_id: str) -> float | None:
    """The sweep's lock is held: try again shortly, unless the chain was replaced meanwhile."""
    if SweepState.objects.filter(name=name, chain_id=chain_id).exists():
        return min(5.0, interval(name))
    return None


def lock_is_stale(name: str) -> bool:
    """A held lock whose sweep started long ago was left by a worker that died mid-sweep."""
    state = SweepState.objects.filter(name=name).first()
    return bool(
        state and state.last_started_at and state.last_started_at < timezone.now() - STUCK_AFTER
    )


def _record(name: str, report: SweepReport) -> float:
    now = timezone.now()
    base = interval(name)
    if report.ok:
        fields: dict[str, Any] = {
            "last_finished_at": now,
            "failures": 0,
            "failing_since": None,
            "last_error": "",
            "last_calls": report.calls,
        }
        if report.calls:
            fields["last_ok_at"] = now
        SweepState.objects.filter(name=name).update(**fields)
        return base
    state = SweepState.objects.get(name=name)
    failures = state.failures + 1
    SweepState.objects.filter(name=name).update(
        last_finished_at=now,
        failures=F("failures") + 1,
        failing_since=state.failing_since or now,
        last_error=report.error[:300],
        last_calls=report.calls,
    )
    log.warning("%s sweep failed (%s in a row): %s", name, failures, report.error)
    delay = min(base * 2 ** min(failures, 10), float(settings.CONSOLE_SYNC_MAX_BACKOFF_SECONDS))
    if report.retry_after is not None:
        delay = max(
            delay, min(report.retry_after, float(settings.CONSOLE_SYNC_MAX_BACKOFF_SECONDS))
        )
    return max(delay, base)


def chains_revive(*, restart_all: bool = False) -> list[tuple[str, str]]:
    """Start a new chain for each sweep whose chain is missing or late (or every sweep).

    ``restart_all`` (a worker starting) still leaves alone a chain started seconds ago, so
    several workers starting together make one chain. Returns the (name, chain id) to enqueue.
    """
    now = timezone.now()
    started = []
    for name in SWEEPS:
        state, _ = SweepState.objects.get_or_create(name=name)
        fresh = state.chain_started_at is not None and state.chain_started_at > now - timedelta(
            seconds=10
        )
        late = state.next_due_at is None or state.next_due_at + CHAIN_GRACE < now
        if fresh or not (late or restart_all):
            continue
        chain_id = uuid.uuid4().hex
        claimed = SweepState.objects.filter(name=name, chain_id=state.chain_id).update(
            chain_id=chain_id, chain_started_at=now, next_due_at=now
        )
        if claimed:
            started.append((name, chain_id))
    return started
