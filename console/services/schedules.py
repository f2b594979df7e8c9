"""Fine-tune schedules: read, describe in one sentence, save or clear — every attempt audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest

from console.models import RunOrigin, RunRecord
from console.services.audit import Target, audit_attempt
from console.services.drgero import Outcome
from console.services.models import model_get
from console.services.tokens import member_call
from console.vocabulary import CADENCES, dataset_phrase
from drgero_client import DatasetSize, Model, Schedule


@dataclass(frozen=True)
class ScheduleChoice:
    """A schedule as the editor sees it; ``enabled=False`` means no schedule (null)."""

    enabled: bool
    cadence: str = ""
    auto: bool = False
    rows: int | None = None
    algorithm: str = "LAST_N"
    mode: str = "LIMIT"

    def __post_init__(self) -> None:
        # No row count when the size is automatic (DatasetSize.of decides), so that a choice
        # compares equal to the schedule Dr.Gero has whatever the rows field held.
        rows = DatasetSize.of(auto=self.auto, rows=self.rows, algorithm=self.algorithm).rows
        object.__setattr__(self, "rows", rows)

    @classmethod
    def from_schedule(cls, schedule: Schedule | None) -> ScheduleChoice:
        if schedule is None:
            return cls(enabled=False)
        dataset = schedule.dataset
        return cls(
            enabled=True,
            cadence=schedule.cadence,
            auto=dataset.auto if dataset else True,
            rows=dataset.rows if dataset else None,
            algorithm=(dataset.algorithm if dataset else "") or "LAST_N",
            mode=dataset.mode if dataset else "LIMIT",
        )

    def to_schedule(self) -> Schedule | None:
        if not self.enabled:
            return None
        dataset = DatasetSize.of(
            auto=self.auto, rows=self.rows, algorithm=self.algorithm, mode=self.mode
        )
        return Schedule(cadence=self.cadence, dataset=dataset)

    def as_api(self) -> dict[str, Any] | None:
        """What is sent as ``fine_tune_schedule`` (and recorded in the audit log)."""
        schedule = self.to_schedule()
        return schedule.to_api() if schedule else None


def schedule_sentence(model_name: str, choice: ScheduleChoice) -> str:
    """ "Every week, Dr.Gero fine-tunes Support Assistant on the newest 2,000 rows." """
    if not choice.enabled:
        return (
            "The schedule is off: no fine-tune runs will start on their own; runs of "
            f"{model_name} start only when someone starts one."
        )
    data = dataset_phrase(auto=choice.auto, rows=choice.rows, algorithm=choice.algorithm)
    known = CADENCES.get(choice.cadence)
    opening = known[2] if known else f"On its “{choice.cadence}” schedule"
    return f"{opening}, Dr.Gero fine-tunes {model_name} on {data}."


def last_scheduled_run(model_id: str) -> RunRecord | None:
    """The newest run Dr.Gero started on its own (first seen outside the console)."""
    return (
        RunRecord.objects.filter(model_id=model_id, origin=RunOrigin.EXTERNAL)
        .order_by("-created_at")
        .first()
    )


def schedule_update(
    *,
    user: User,
    model_id: str,
    choice: ScheduleChoice,
    note: str = "",
    request: HttpRequest | None = None,
) -> Outcome[Model | None]:
    """PATCH ``fine_tune_schedule`` (null to clear); record before, after and the outcome."""
    current = model_get(user=user, model_id=model_id)
    if current.value is None:
        return Outcome(problem=current.problem)
    model = current.value
    before = ScheduleChoice.from_schedule(model.schedule).as_api()
    outcome = member_call(
        user,
        lambda c: c.set_schedule(model_id, choice.to_schedule()),
        write=True,
        scope="models:write",
    )
    audit_attempt(
        user=user,
        action="schedule.update" if choice.enabled else "schedule.clear",
        target=Target("model", model_id, model.name),
        problem=outcome.problem,
        changes={"before": before, "after": choice.as_api(), **({"note": note} if note else {})},
        request=request,
    )
    return outcome
