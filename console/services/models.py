"""Models on Dr.Gero: list and search, detail, create, edit, delete, base models."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from console.models import CreateIntent, ModelSyncState
from console.services.audit import Target, audit_attempt
from console.services.drgero import Outcome, Problem, ProblemKind, explain, pooled_session
from console.services.tokens import member_call, member_client
from drgero_client import (
    BaseModel,
    DrGeroClient,
    DrGeroError,
    InvalidResponseError,
    Leaderboard,
    Model,
    PermissionDeniedError,
)
from drgero_client.client import UPDATABLE_FIELDS

PAGE_SIZE = 50
SEARCH_BOUND = 500  # Dr.Gero has no search; at most this many models are fetched to filter
SEARCH_CACHE_SECONDS = 30

# Threads for fetching a page's Dr.Gero calls side by side; each keeps its own pooled session.
T = TypeVar("T")
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="drgero")


@dataclass(frozen=True)
class ModelsPage:
    models: list[Model]
    page: int
    total: int | None
    has_next: bool
    query: str = ""
    search_bound_reached: bool = False
    # A digest of Dr.Gero's answer the page was read from (b"" for a search or the record).
    answer: bytes = b""

    @property
    def page_count(self) -> int | None:
        return math.ceil(self.total / PAGE_SIZE) if self.total is not None else None

    @property
    def page_numbers(self) -> list[int | str]:
        """The page numbers to link, with ``…`` where a run of them is left out."""
        if not self.total:
            return []
        pages = Paginator(range(self.total), PAGE_SIZE)
        return list(pages.get_elided_page_range(self.page, on_each_side=3, on_ends=1))


def _search_cache_key(user: User) -> str:
    return f"console:models-search:{user.pk}"


def models_page(*, user: User, page: int = 1, query: str = "") -> Outcome[ModelsPage]:
    """One page of the member's models, or those whose name or description contains ``query``."""
    page = max(1, page)
    query = query.strip()
    if not query:

        def fetch(client: DrGeroClient) -> ModelsPage:
            got = client.list_models(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
            return ModelsPage(list(got.items), page, got.total, got.has_more, answer=got.answer)

        return member_call(user, fetch, what="model")

    key = _search_cache_key(user)
    cached = cache.get(key)
    if cached is None:
        fetched = member_call(
            user, lambda c: [m.raw for m in c.iter_models(max_items=SEARCH_BOUND + 1)]
        )
        if fetched.value is None:
            return Outcome(problem=fetched.problem)
        cached = fetched.value
        cache.set(key, cached, SEARCH_CACHE_SECONDS)
    bound_reached = len(cached) > SEARCH_BOUND
    needle = query.casefold()
    matches = [
        m
        for m in (Model.from_api(raw) for raw in cached[:SEARCH_BOUND])
        if needle in m.name.casefold() or needle in (m.description or "").casefold()
    ]
    start = (page - 1) * PAGE_SIZE
    return Outcome(
        value=ModelsPage(
            matches[start : start + PAGE_SIZE],
            page,
            len(matches),
            start + PAGE_SIZE < len(matches),
            query,
            bound_reached,
        )
    )


def forget_search_cache(user: User) -> None:
    cache.delete(_search_cache_key(user))


@dataclass(frozen=True)
class ModelDetail:
    model: Model
    leaderboards: Outcome[list[Leaderboard]]
    # Set when the page shows the console's record instead of a live read (a member with no
    # token of their own): when the console last read the model, and its base model's name.
    read_at: datetime | None = None
    base_model_name: str = ""


# The console's record of the team's models, for members without a token of their own.


def _recorded() -> QuerySet[ModelSyncState]:
    return ModelSyncState.objects.filter(deleted_at__isnull=True).exclude(details={})


def _as_model(state: ModelSyncState) -> Model | None:
    try:
        return Model.from_api(state.details)
    except InvalidResponseError:
        return None


@dataclass(frozen=True)
class RecordedPage:
    page: ModelsPage
    read_at: datetime | None  # the oldest reading among the models shown


def models_page_recorded(*, page: int = 1, query: str = "") -> RecordedPage:
    """One page of the models the console last read through the team's tokens, by name (or
    those whose name or description contains ``query``); no call to Dr.Gero."""
    page = max(1, page)
    query = query.strip()
    states = _recorded().order_by("model_name", "model_id")
    if query:
        needle = query.casefold()
        kept = [
            s
            for s in states
            if needle in s.model_name.casefold()
            or needle in str(s.details.get("description") or "").casefold()
        ]
        total = len(kept)
        chosen = kept[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    else:
        total = states.count()
        chosen = list(states[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    models = [m for m in map(_as_model, chosen) if m is not None]
    times = [s.details_read_at for s in chosen if s.details_read_at is not None]
    return RecordedPage(
        ModelsPage(models, page, total, page * PAGE_SIZE < total, query),
        min(times) if times else None,
    )


def model_detail_recorded(*, model_id: str) -> Outcome[ModelDetail]:
    """The model as the console last read it; "not found" when it has no record of it."""
    state = _recorded().filter(pk=model_id).first()
    model = _as_model(state) if state is not None else None
    if state is None or model is None:
        return Outcome(
            problem=Problem(
                ProblemKind.NOT_FOUND,
                "The console has no record of this model: none of the team's tokens has "
                "listed it. A member whose token can read it sees it once the console has "
                "read it.",
                404,
            )
        )
    boards = [Leaderboard.from_api(b) for b in state.leaderboards or [] if b.get("id")]
    return Outcome(
        value=ModelDetail(
            model,
            Outcome(value=boards),
            read_at=state.details_read_at,
            base_model_name=state.base_model_name,
        )
    )


def _in_pool(client: DrGeroClient, fn: Any, started: threading.Semaphore) -> Any:
    started.release()
    return fn(client.bound_to(pooled_session()))


# How long a page waits for its Dr.Gero calls to be taken up before it reads its own records.
CALLS_TAKEN_UP = 0.1


def model_detail(
    *, user: User, model_id: str, meanwhile: Callable[[], T] | None = None
) -> tuple[Outcome[ModelDetail], T | None]:
    """The model and its leaderboards, fetched side by side, and what ``meanwhile`` returns:
    the page's own reads (the mirror, the database), done on this thread while Dr.Gero
    answers, so that the page takes about as long as the slower call and no longer.

    Only the model itself is required; the leaderboards report their own problem on the page.
    Its runs come from the mirror, which the worker keeps current.
    """
    got = member_client(user)
    if got.value is None:
        return Outcome(problem=got.problem), None
    client = got.value
    started = threading.Semaphore(0)
    futures = {
        "model": _pool.submit(_in_pool, client, lambda c: c.get_model(model_id), started),
        "leaderboards": _pool.submit(
            _in_pool, client, lambda c: c.list_model_leaderboards(model_id), started
        ),
    }
    # The calls go out first: the page's own reads would otherwise hold the interpreter while
    # the second call is being prepared, and its answer, the later one, would come that much
    # later (about a millisecond on a model page). Bounded, should the pool be busy.
    until = time.monotonic() + CALLS_TAKEN_UP
    for _ in futures:
        started.acquire(timeout=max(0.0, until - time.monotonic()))
    extra = meanwhile() if meanwhile is not None else None
    results: dict[str, Outcome[Any]] = {}
    for name, future in futures.items():
        try:
            results[name] = Outcome(value=future.result())
        except DrGeroError as exc:
            results[name] = Outcome(problem=explain(exc, what="model"))
    model = results["model"]
    if model.value is None:
        return Outcome(problem=model.problem), extra
    return Outcome(value=ModelDetail(model.value, results["leaderboards"])), extra


def model_get(*, user: User, model_id: str) -> Outcome[Model]:
    return member_call(user, lambda c: c.get_model(model_id))


def model_fields(model: Model) -> dict[str, Any]:
    """The editable fields of a model, as the form and the audit log see them."""
    return {
        "name": model.name,
        "description": model.description,
        "leaderboard_ids": sorted(model.leaderboard_ids),
        "creation_mode": model.creation_mode or "auto",
        "auto_update_model": bool(model.auto_update_model),
        "continuous_self_learning": bool(model.continuous_self_learning),
        "hypertuning_parameters": bool(model.hypertuning_parameters),
    }


@dataclass(frozen=True)
class CreateResult:
    model: Model | None = None
    problem: Problem | None = None
    # The intent was sent before: ``model`` is what it made (found, or known), nothing new sent.
    already: bool = False


def model_create(
    *,
    user: User,
    fields: dict[str, Any],
    intent: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> CreateResult:
    """Create a model in Dr.Gero and record ``model.create``; one model per intent.

    A form's intent id makes a resubmission safe: a create that succeeded is not sent again,
    and after a create whose outcome is unknown the console looks for the model it may have
    made (by name, among models made since) before sending again.
    """
    sent = {k: v for k, v in fields.items() if k in UPDATABLE_FIELDS}
    record = _intent_record(user, intent or uuid.uuid4(), sent["name"][:300])
    if record.state == "succeeded":
        return CreateResult(_model_known(user, record.model_id), already=True)
    if record.state == "unknown":
        looked = _made_since(user, sent["name"], record)
        if looked.problem is not None:
            # Not knowing whether the first one was made, sending again could make a second.
            return CreateResult(problem=looked.problem)
        if (found := looked.value) is not None:
            CreateIntent.objects.filter(pk=record.pk).update(state="succeeded", model_id=found.id)
            audit_attempt(
                user=user,
                action="model.create.resolved",
                target=Target("model", found.id, found.name),
                problem=None,
                changes={"after": sent},
                request=request,
            )
            return CreateResult(found, already=True)
    claimed = CreateIntent.objects.filter(
        pk=record.pk, state__in=("pending", "failed", "unknown")
    ).update(state="sending", sent_at=timezone.now())
    if not claimed:
        return CreateResult(already=True)  # another tab or a double click is sending it now
    outcome = member_call(user, lambda c: c.create_model(**sent), write=True)
    model = outcome.value
    problem = outcome.problem
    if problem is None and model is not None:
        state = "succeeded"
    else:
        state = "failed" if problem is None or problem.nothing_changed else "unknown"
    CreateIntent.objects.filter(pk=record.pk).update(
        state=state, model_id=model.id if model else ""
    )
    if problem and problem.needs_token:
        return CreateResult(problem=problem)
    target = Target("model", model.id if model else "", model.name if model else sent["name"])
    audit_attempt(
        user=user,
        action="model.create",
        target=target,
        problem=problem,
        changes={"after": sent},
        request=request,
    )
    forget_search_cache(user)
    return CreateResult(model, problem)


def _intent_record(user: User, intent: uuid.UUID, name: str) -> CreateIntent:
    """The member's intent with this id; another member's id starts an intent of their own."""
    try:
        with transaction.atomic():
            record, _ = CreateIntent.objects.get_or_create(
                pk=intent, defaults={"user": user, "name": name}
            )
    except IntegrityError:  # made by a concurrent request between the get and the create
        record = CreateIntent.objects.get(pk=intent)
    if record.user_id != user.pk:
        return _intent_record(user, uuid.uuid4(), name)
    return record


def _model_known(user: User, model_id: str) -> Model | None:
    return model_get(user=user, model_id=model_id).value if model_id else None


def _made_since(user: User, name: str, record: CreateIntent) -> Outcome[Model | None]:
    """The one model named ``name`` made since the unknown create was sent, if Dr.Gero says."""
    since = (record.sent_at or record.created_at) - timedelta(minutes=5)
    outcome = member_call(user, lambda c: list(c.iter_models(max_items=SEARCH_BOUND)))
    if outcome.problem is not None:
        return Outcome(problem=outcome.problem)
    matches = [
        m
        for m in outcome.value or []
        if m.name == name and (m.created_at is None or m.created_at >= since)
    ]
    return Outcome(value=matches[0] if len(matches) == 1 else None)


@dataclass(frozen=True)
class UpdateResult:
    model: Model | None
    changed: dict[str, Any] = field(default_factory=dict)


def model_update(
    *, user: User, model_id: str, fields: dict[str, Any], request: HttpRequest | None = None
) -> Outcome[UpdateResult]:
    """PATCH only what differs from the model as Dr.Gero has it now; record before and after."""
    current = model_get(user=user, model_id=model_id)
    if current.value is None:
        return Outcome(problem=current.problem)
    before_all = model_fields(current.value)
    changed = {
        k: v
        for k, v in fields.items()
        if k in UPDATABLE_FIELDS
        and (sorted(v) if k == "leaderboard_ids" else v) != before_all.get(k)
    }
    if not changed:
        return Outcome(value=UpdateResult(current.value, {}))
    outcome = member_call(user, lambda c: c.update_model(model_id, **changed), write=True)
    target = Target("model", model_id, current.value.name)
    changes = {"before": {k: before_all[k] for k in changed}, "after": changed}
    audit_attempt(
        user=user,
        action="model.update",
        target=target,
        problem=outcome.problem,
        changes=changes,
        request=request,
    )
    forget_search_cache(user)
    if outcome.problem:
        return Outcome(problem=outcome.problem)
    return Outcome(value=UpdateResult(outcome.value or current.value, changed))


class NameMismatchError(Exception):
    """The typed confirmation does not match the model's name."""


def model_delete(
    *, user: User, model_id: str, typed_name: str, request: HttpRequest | None = None
) -> Outcome[Model]:
    """Delete a model for the whole workspace after the name was typed; keep a snapshot."""
    current = model_get(user=user, model_id=model_id)
    if current.value is None:
        return Outcome(problem=current.problem)
    model = current.value
    if typed_name.strip() != model.name:
        raise NameMismatchError
    outcome = member_call(user, lambda c: c.delete_model(model_id), write=True)
    target = Target("model", model_id, model.name)
    audit_attempt(
        user=user,
        action="model.delete",
        target=target,
        problem=outcome.problem,
        changes={"before": model.raw},
        request=request,
    )
    forget_search_cache(user)
    if outcome.problem:
        return Outcome(problem=outcome.problem)
    return Outcome(value=model)


def base_models_list(*, user: User) -> Outcome[list[BaseModel]]:
    return member_call(user, lambda c: c.list_base_models(), what="base model list")


BASE_MODELS_SECONDS = 600


def _base_names_key(user: User) -> str:
    return f"console:base-models:{user.pk}"


def base_model_names_kept(*, user: User) -> dict[str, str] | None:
    """The base models' names kept for the member, by id; None when none are kept. Asks
    nothing of Dr.Gero, so a page can read them while its own calls are out."""
    names = cache.get(_base_names_key(user))
    return names if isinstance(names, dict) else None


def base_model_name(*, user: User, base_model_id: str, kept: dict[str, str] | None = None) -> str:
    """A base model's name from Dr.Gero's list (kept ten minutes); its id when not listed.

    ``kept`` is what ``base_model_names_kept`` found a moment ago; without it, or when it was
    None, the cache is read (and the list fetched when it holds nothing).
    """
    names = kept if kept is not None else base_model_names_kept(user=user)
    if names is None:
        listed = base_models_list(user=user).value
        if listed is None:
            return base_model_id
        names = {b.id: b.name for b in listed}
        cache.set(_base_names_key(user), names, BASE_MODELS_SECONDS)
    return names.get(base_model_id) or base_model_id


@dataclass(frozen=True)
class LeaderboardChoices:
    """Leaderboards to choose from, or None when the token can't list them."""

    leaderboards: list[Leaderboard] | None
    problem: Problem | None = None


PICKER_BOUND = 500


def leaderboard_picker(*, user: User) -> LeaderboardChoices:
    got = member_client(user)
    if got.value is None:
        return LeaderboardChoices(None, got.problem)
    try:
        return LeaderboardChoices(list(got.value.iter_leaderboards(max_items=PICKER_BOUND)))
    except PermissionDeniedError:
        return LeaderboardChoices(None)
    except DrGeroError as exc:
        return LeaderboardChoices(None, explain(exc, what="leaderboard list"))
