"""What the run-start and schedule screens need, in one call each: the model (or a stand-in
while Dr.Gero fails), the problem, and whether a run of it is going."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from console.models import RunRecord
from console.selectors.audit import schedule_plan_refused_at
from console.selectors.mirror import active_run, known_model_name
from console.services.drgero import Problem
from console.services.mirror import active_run_checked, remember_model
from console.services.models import model_detail_recorded, model_get
from console.services.schedules import (
    ScheduleChoice,
    last_scheduled_run,
    schedule_sentence,
)


@dataclass(frozen=True)
class ModelStandIn:
    """A model as the console last saw it, for a form while Dr.Gero cannot say more."""

    id: str
    name: str
    schedule: Any = None


TRANSIENT = ("unavailable", "busy", "bad_answer", "error")


def stand_in(model_id: str, problem: Problem | None) -> ModelStandIn | None:
    """When Dr.Gero failed for a passing reason, a stand-in that keeps a form on the page."""
    if problem is None or problem.kind not in TRANSIENT:
        return None
    return ModelStandIn(model_id, known_model_name(model_id) or "this model")


@dataclass(frozen=True)
class ModelScreen:
    """A model for a screen that acts on it. ``model`` is None when there is nothing to show
    a form for (``problem`` says why); a stand-in when Dr.Gero failed for a passing reason
    during a POST, so what was typed is kept."""

    model: Any
    problem: Problem | None = None
    busy: RunRecord | None = None  # a run Dr.Gero confirmed is going: no form is offered
    busy_unconfirmed: RunRecord | None = None  # the mirror says so, Dr.Gero could not be asked

    @property
    def failed_status(self) -> int:
        return self.problem.page_status if self.problem else 502


def _model_for(*, user: User, model_id: str, acting: bool) -> tuple[Any, Problem | None]:
    """The model and None; or, when Dr.Gero failed, the problem with a stand-in during a POST
    (``acting``) for a passing failure, else with None."""
    current = model_get(user=user, model_id=model_id)
    if current.value is not None:
        return current.value, None
    return (stand_in(model_id, current.problem) if acting else None), current.problem


def model_screen(
    *, user: User, model_id: str, acting: bool, check_busy: bool = False
) -> ModelScreen:
    """Read the model for a screen; ``acting`` (a POST) keeps a stand-in through a passing
    failure and records who acted on the model; ``check_busy`` asks Dr.Gero whether the run
    the mirror holds as going still is, before a form is refused on it."""
    model, problem = _model_for(user=user, model_id=model_id, acting=acting)
    if model is None:
        return ModelScreen(None, problem)
    if acting and problem is None:
        remember_model(model.id, model.name, actor=user)
    if not check_busy:
        return ModelScreen(model, problem)
    if problem is None:
        busy, asked = active_run_checked(user, model.id)
    else:  # Dr.Gero is failing already: don't ask it again on this page
        busy, asked = active_run(model.id), False
    if not asked:
        return ModelScreen(model, problem, busy_unconfirmed=busy)
    return ModelScreen(model, problem, busy=busy)


@dataclass(frozen=True)
class ScheduleScreen:
    """The schedule editor's reads: the model (or a stand-in during a POST while Dr.Gero
    fails), the schedule it has now in words, and the last run Dr.Gero started on its own."""

    model: Any
    problem: Problem | None = None
    current: ScheduleChoice | None = None  # None: not known (no model, or a stand-in)
    current_sentence: str = ""
    last_scheduled: RunRecord | None = None
    recorded: bool = False  # from the console's record: no token of the member's own
    recorded_at: datetime | None = None

    @property
    def context(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "problem": self.problem,
            "current": self.current,
            "current_sentence": self.current_sentence,
            "last_scheduled": self.last_scheduled,
            "recorded": self.recorded,
            "recorded_at": self.recorded_at,
            "plan_refused_at": schedule_plan_refused_at(),
        }


def schedule_screen(*, user: User, model_id: str, acting: bool) -> ScheduleScreen:
    model, problem = _model_for(user=user, model_id=model_id, acting=acting)
    if model is None:
        return ScheduleScreen(None, problem)
    if problem is not None:
        # What was typed comes back with the problem; it can be confirmed once Dr.Gero answers
        # again, since the confirmation shows the schedule before and after.
        words = "Dr.Gero could not be reached, so the schedule it has now is not known."
        return ScheduleScreen(model, problem, current_sentence=words)
    return _schedule_now(model)


def _schedule_now(
    model: Any, *, recorded: bool = False, recorded_at: datetime | None = None
) -> ScheduleScreen:
    """The schedule the model has, in words, with the last run Dr.Gero started on its own;
    ``recorded``: from the console's record, read at ``recorded_at``."""
    now = ScheduleChoice.from_schedule(model.schedule)
    return ScheduleScreen(
        model,
        current=now,
        current_sentence=schedule_sentence(model.name, now),
        last_scheduled=last_scheduled_run(model.id),
        recorded=recorded,
        recorded_at=recorded_at,
    )


def schedule_screen_recorded(*, model_id: str) -> ScheduleScreen:
    """The schedule as the console last read it, for a member without a token of their own
    (read-only: changing it needs their own token)."""
    got = model_detail_recorded(model_id=model_id)
    if got.value is None:
        return ScheduleScreen(None, got.problem)
    return _schedule_now(got.value.model, recorded=True, recorded_at=got.value.read_at)
