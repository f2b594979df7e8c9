"""The runs mirror: what Dr.Gero reports is recorded here, with every status change it shows.

Pages read the mirror; the worker's sweeps (console/services/sweeps.py) and the console's own
starts write it. A run seen going from queued or running to an end is told to people once
(console/services/notices.py), under the row lock that serialises writers of that run.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from console.crypto import TokenUnavailableError
from console.models import ModelSyncState, RunOrigin, RunRecord, RunTransition
from console.selectors.mirror import (
    ACTIVE_CATEGORIES,
    FINAL_CATEGORIES,
    WATCHED_CATEGORIES,
    active_run,
    known_model_name,
)
from console.services.notices import run_ended, run_left_drgero
from console.services.tokens import NoTokenError, client_for
from console.vocabulary import status_category
from drgero_client import DrGeroClient, DrGeroError, Model, Run

log = logging.getLogger(__name__)


def remember_model(
    model_id: str,
    name: str | None = None,
    *,
    actor: User | None = None,
    listed_by: User | None = None,
) -> None:
    """Note a model the console has seen (for the sweeps), who last acted on it, and a member
    whose token listed it."""
    defaults: dict[str, Any] = {}
    if name:
        defaults["model_name"] = name
    if actor is not None and getattr(actor, "is_authenticated", False):
        defaults["last_actor"] = actor
    if listed_by is not None:
        defaults["listed_by"] = listed_by
    state, created = ModelSyncState.objects.get_or_create(model_id=model_id, defaults=defaults)
    changed: dict[str, Any] = {}
    if name and state.model_name != name:
        changed["model_name"] = name
    if actor is not None and "last_actor" in defaults and state.last_actor_id != actor.pk:
        changed["last_actor"] = actor
    if listed_by is not None and state.listed_by_id != listed_by.pk:
        changed["listed_by"] = listed_by
    if not created and changed:
        # Only what differs: every sweep calls this for every model.
        ModelSyncState.objects.filter(pk=model_id).update(**changed)


class BaseNames:
    """Base models' names, read from Dr.Gero at most once a sweep, and only when a model names
    a base model the console has no name for."""

    def __init__(self) -> None:
        self.names: dict[str, str] | None = None

    def name(self, client: DrGeroClient, base_id: str) -> tuple[str, int]:
        """The base model's name ("" when not listed) and the calls it took."""
        calls = 0
        if self.names is None:
            calls = 1
            try:
                self.names = {b.id: b.name for b in client.list_base_models()}
            except DrGeroError:
                self.names = {}  # the token may not list them; the id stays the words
        return self.names.get(base_id, ""), calls


def model_details_keep(
    model: Model, state: ModelSyncState | None, client: DrGeroClient, base_names: BaseNames
) -> int:
    """Keep the model as Dr.Gero listed it, for members without a token of their own: its
    object as it came, its leaderboards (read again only when its leaderboard ids change) and
    its base model's name. Writes only what changed; returns the Dr.Gero calls it made."""
    calls = 0
    changed: dict[str, Any] = {}
    if state is None or state.details != model.raw:
        changed["details"] = model.raw
    known = {b.get("id") for b in (state.leaderboards or [])} if state else set()
    if state is None or state.leaderboards is None or known != set(model.leaderboard_ids):
        calls += 1
        try:
            boards = client.list_model_leaderboards(model.id)
        except DrGeroError:
            boards = None  # kept as it was; tried again on the next sweep
        if boards is not None:
            changed["leaderboards"] = [
                {"id": b.id, "name": b.name, "description": b.description} for b in boards
            ]
    base = model.raw.get("base_model_id") or model.raw.get("baseModelId")
    if isinstance(base, str) and base and not (state and state.base_model_name):
        name, took = base_names.name(client, base)
        calls += took
        if name:
            changed["base_model_name"] = name[:300]
    if changed:
        ModelSyncState.objects.filter(pk=model.id).update(**changed)
    return calls


def model_details_read(model_ids: list[str]) -> None:
    """These models' recorded details are as Dr.Gero has them now: one write a sweep."""
    if model_ids:
        ModelSyncState.objects.filter(pk__in=model_ids).update(details_read_at=timezone.now())


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
    """Record what Dr.Gero reports; a run first seen here is external unless ``started_by``.

    Each status change becomes a transition; a run seen reaching an end from a state that was
    not final is told to people (once: the rows are locked while this runs).
    """
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
        transitions = []
        ended = []
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
            before_status, before_category = "", ""
            created = False
            if record is None:
                record, created = _first_seen(run, model_id, now, fields)
            if not created:  # recorded before, or by another writer a moment ago
                before_status, before_category = record.status, record.category
                changed = {k: v for k, v in fields.items() if _differs(record, k, v)}
                if changed:
                    for key, value in changed.items():
                        setattr(record, key, value)
                    record.save(update_fields=list(changed))
            if record.status != before_status or not before_category:
                transitions.append(
                    RunTransition(
                        run=record,
                        from_status=before_status,
                        to_status=record.status,
                        from_category=before_category,
                        to_category=record.category,
                        seen_at=now,
                    )
                )
                was_open = before_category and before_category not in FINAL_CATEGORIES
                if was_open and record.category in FINAL_CATEGORIES:
                    ended.append(record)
            records.append(record)
        RunTransition.objects.bulk_create(transitions)
        for record in ended:
            run_ended(record)
    return records


def _first_seen(
    run: Run, model_id: str, now: Any, fields: dict[str, Any]
) -> tuple[RunRecord, bool]:
    """Record a run seen for the first time. A row lock cannot guard a row that does not exist
    yet, so two writers may both find it new: the second's insert waits for the first to commit
    and fails on the unique run id, and it then locks and goes on with the first one's row."""
    try:
        with transaction.atomic():
            record = RunRecord.objects.create(
                run_id=run.id,
                model_id=run.model_id or model_id,
                first_seen_at=now,
                **{"origin": RunOrigin.EXTERNAL, "created_at": now, **fields},
            )
        return record, True
    except IntegrityError:
        return RunRecord.objects.select_for_update(of=("self",)).get(run_id=run.id), False


def _differs(record: RunRecord, key: str, value: Any) -> bool:
    """Whether a field would change; members are compared by id, without loading them."""
    if key in ("started_by", "synced_by"):
        return getattr(record, f"{key}_id") != (value.pk if value is not None else None)
    return bool(getattr(record, key) != value)


def runs_refresh(
    *, client: DrGeroClient, model_id: str, synced_by: Any = None
) -> tuple[list[Run], bool]:
    """Read a model's runs (GET; ``models:read`` is enough) into the mirror and retire those
    Dr.Gero forgot. Writes no event. The runs, and whether Dr.Gero's list held all of them."""
    runs, complete = client.list_runs_complete(model_id)
    mirror_upsert(model_id=model_id, runs=runs, synced_by=synced_by)
    runs_reconcile(model_id=model_id, listed=runs, complete=complete)
    ModelSyncState.objects.filter(pk=model_id).update(last_checked_at=timezone.now())
    return runs, complete


def runs_reconcile(*, model_id: str, listed: list[Run], complete: bool) -> list[str]:
    """Retire the model's queued, running or unknown runs that Dr.Gero stopped listing.

    A run missing from a complete list is noted; missing again from a read at least an
    active-sweep interval later, it is retired as "No longer in Dr.Gero". A run that comes
    back is forgotten as missing. Returns the ids retired.
    """
    now = timezone.now()
    ids = {run.id for run in listed}
    watched = RunRecord.objects.filter(model_id=model_id, category__in=WATCHED_CATEGORIES)
    watched.filter(run_id__in=ids, missing_since__isnull=False).update(missing_since=None)
    if not complete:
        return []
    absent = watched.exclude(run_id__in=ids)
    absent.filter(missing_since__isnull=True).update(missing_since=now)
    due = now - timedelta(seconds=float(settings.CONSOLE_SYNC_ACTIVE_SECONDS))
    retired = []
    for run_id in absent.filter(missing_since__lte=due).values_list("run_id", flat=True):
        if run_gone(run_id):
            retired.append(run_id)
    return retired


def active_run_checked(user: User, model_id: str) -> tuple[RunRecord | None, bool]:
    """The model's active run, checked with Dr.Gero before a start form refuses on it.

    The mirror alone may hold a run Dr.Gero forgot; when it names one, the model's runs are
    read (a GET, within the page budget) into the mirror first. Returns the run that still
    blocks (None when Dr.Gero's complete list no longer shows one active) and whether Dr.Gero
    could be asked.
    """
    from console.services.tokens import member_call

    busy = active_run(model_id)
    if busy is None:
        return None, True
    read = member_call(user, lambda c: runs_refresh(client=c, model_id=model_id))
    if read.value is None:
        return busy, False
    runs, complete = read.value
    still = active_run(model_id)
    if still is not None and complete and still.run_id not in {run.id for run in runs}:
        still = None  # Dr.Gero's complete list no longer has it: it does not block
    return still, True


def runs_unreadable(model_id: str) -> int:
    """No member's token can read this model any more: its queued and running runs become
    "unknown — no member's token can read this model" (watched still, so that the first token
    that can read it again brings them up to date). Returns how many changed."""
    return _recategorise(model_id, ACTIVE_CATEGORIES, "unreadable")


def runs_of_deleted_model(model_id: str) -> int:
    """The model is gone from Dr.Gero, so are its runs that had not ended."""
    changed = 0
    for run_id in RunRecord.objects.filter(
        model_id=model_id, category__in=WATCHED_CATEGORIES
    ).values_list("run_id", flat=True):
        changed += run_gone(run_id)
    return changed


def _recategorise(model_id: str, before: tuple[str, ...], after: str) -> int:
    now = timezone.now()
    with transaction.atomic():
        records = list(
            RunRecord.objects.select_for_update().filter(model_id=model_id, category__in=before)
        )
        RunTransition.objects.bulk_create(_moved(r, after, now) for r in records)
        RunRecord.objects.filter(pk__in=[r.pk for r in records]).update(category=after)
    return len(records)


def _moved(record: RunRecord, category: str, now: Any) -> RunTransition:
    """The transition of a run the console itself moved to ``category`` (its Dr.Gero status
    unchanged): what it last saw, and what it concluded."""
    return RunTransition(
        run=record,
        from_status=record.status,
        to_status=record.status,
        from_category=record.category,
        to_category=category,
        seen_at=now,
    )


def run_gone(run_id: str) -> bool:
    """Mark a run Dr.Gero no longer has as "gone" (a final state of its own), with its
    transition and one notice to the member who started it. False when it had ended already."""
    now = timezone.now()
    with transaction.atomic():
        record = (
            RunRecord.objects.select_for_update(of=("self",))
            .filter(run_id=run_id, category__in=WATCHED_CATEGORIES)
            .select_related("started_by")
            .first()
        )
        if record is None:
            return False
        before = record.category
        _moved(record, "gone", now).save()
        record.category = "gone"
        record.missing_since = record.missing_since or now
        record.save(update_fields=["category", "missing_since"])
        run_left_drgero(record, last_seen=before)
    log.info("run %s of model %s is no longer in Dr.Gero", run_id, record.model_id)
    return True


def reading_members() -> list[tuple[Any, DrGeroClient]]:
    """Active members whose token is set and readable, each with a client."""
    User = get_user_model()  # noqa: N806
    candidates = list(
        User.objects.filter(is_active=True, drgero_token__isnull=False)
        .select_related("drgero_token")
        .order_by("pk")
    )
    usable = []
    for member in candidates:
        try:
            usable.append((member, client_for(member)))
        except (NoTokenError, TokenUnavailableError):
            continue  # no or unreadable token: the next member reads
    return usable
