"""A person's "Check Dr.Gero for updates": asked for on a page, done by the worker, audited."""

from __future__ import annotations

from dataclasses import replace

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone

from console import jobs
from console.models import (
    ModelSyncState,
)
from console.selectors.mirror import known_model_name
from console.services.audit import Actor, Target, audit_record
from console.services.drgero import Outcome, ProblemKind
from console.services.mirror import mirror_upsert, remember_model, run_gone
from console.services.notices import notice_add
from console.services.runs import resolve_unknown_starts
from console.services.tokens import member_call
from drgero_client import Run


def run_sync(
    *, user: User, model_id: str, run_id: str | None = None, request: HttpRequest | None = None
) -> Outcome[list[Run]]:
    """A person's check with Dr.Gero (POST sync, needs models:fine-tune); audited.

    Pages do not call this: ``run_sync_request`` hands it to the worker.
    """
    name = known_model_name(model_id)
    outcome = member_call(
        user,
        lambda c: c.sync_runs(model_id, run_id=run_id),
        write=True,
        scope="models:fine-tune",
    )
    if outcome.problem and outcome.problem.needs_token:
        return outcome
    if run_id and outcome.problem and outcome.problem.kind == ProblemKind.NOT_FOUND:
        outcome = _run_not_found(user, model_id, run_id, outcome)
    target = Target("run", run_id, name, model_id) if run_id else Target("model", model_id, name)
    problem = outcome.problem
    runs = outcome.value or []
    audit_record(
        actor=Actor.of(user),
        action="run.sync",
        outcome="succeeded" if problem is None else "failed",
        target=target,
        changes={"run_id": run_id or "all", "runs": len(runs)},
        status_code=problem.drgero_status if problem else None,
        message=problem.message if problem else "",
        request=request,
    )
    if problem is None:
        mirror_upsert(model_id=model_id, runs=runs, model_name=name, synced_by=user)
        ModelSyncState.objects.update_or_create(
            model_id=model_id,
            defaults={
                "last_synced_at": timezone.now(),
                "last_checked_at": timezone.now(),
                "last_synced_by": user,
                "last_actor": user,
            },
        )
        resolve_unknown_starts(model_id=model_id, runs=runs, user=user, request=request)
    return outcome


def _run_not_found(
    user: User, model_id: str, run_id: str, outcome: Outcome[list[Run]]
) -> Outcome[list[Run]]:
    """A 404 for a run: the run is gone when its model is still there (a second, read-only
    call says which); only a 404 for the model says the model is gone."""
    model = member_call(user, lambda c: c.get_model(model_id))
    if model.problem is not None or outcome.problem is None:
        return outcome  # the model is gone too, or Dr.Gero can't say: the words stay
    run_gone(run_id)
    words = (
        "Dr.Gero does not have this run any more, though the model is still there. The "
        "console marked the run “No longer in Dr.Gero”; a new run of this model can start."
    )
    return Outcome(problem=replace(outcome.problem, message=words))


def run_sync_request(*, user: User, model_id: str, run_id: str | None = None) -> bool:
    """Ask the worker to check Dr.Gero for this model (or run); the pages show it pending.
    False when the worker's queue could not be reached (nothing is then shown pending)."""
    remember_model(model_id, actor=user)
    ModelSyncState.objects.filter(pk=model_id).update(sync_requested_at=timezone.now())
    try:
        jobs.later(jobs.MODEL_SYNC, user.pk, model_id, run_id, must_reach=True)
    except jobs.QueueUnavailable:
        ModelSyncState.objects.filter(pk=model_id).update(sync_requested_at=None)
        return False
    return True


def run_sync_perform(*, user_id: int, model_id: str, run_id: str | None = None) -> None:
    """The worker's half of a requested check: sync, end the pending state, tell the member."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    try:
        if user is None:
            return
        outcome = run_sync(user=user, model_id=model_id, run_id=run_id)
        name = known_model_name(model_id) or model_id
        if outcome.problem is not None:
            notice_add(
                user=user,
                kind="sync_failed",
                level="error",
                text=f"Checking Dr.Gero for updates of {name} did not work: "
                f"{outcome.problem.message}",
            )
        else:
            count = len(outcome.value or [])
            what = "the run" if run_id else f"{count} run{'s' if count != 1 else ''}"
            notice_add(
                user=user,
                kind="sync_done",
                level="success",
                text=f"Checked Dr.Gero for updates of {name}: {what} up to date.",
            )
    finally:
        ModelSyncState.objects.filter(pk=model_id).update(sync_requested_at=None)
