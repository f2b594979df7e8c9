"""Starting a fine-tune run, one view per step: the form (GET), the preview (POST), and the
confirmation (POST to a URL that carries the submission, which starts exactly one run)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from console.forms import RunStartForm, WhyForm
from console.htmx import HtmxHttpRequest
from console.roles import Role, requires
from console.selectors.run_page import duration_estimate, member_submission, start_defaults
from console.services.runs import RunSettings, run_prepare, run_sentence, run_start
from console.services.screens import ModelScreen, model_screen
from console.views.htmx import redirect_after_success, render_screen
from console.views.models import abilities


def _screen(request: HtmxHttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render_screen(
        request,
        "console/run_new.html",
        "run-start",
        {**abilities(request), **context},
        status=status,
    )


def _base(screen: ModelScreen) -> dict[str, Any]:
    return {
        "model": screen.model,
        "problem": screen.problem,
        "busy_unconfirmed": screen.busy_unconfirmed,
    }


def _refused(screen: ModelScreen) -> dict[str, Any] | None:
    """The context that offers no form: nothing to start, or a run Dr.Gero says is going."""
    if screen.model is None:
        return {"problem": screen.problem, "form": None}
    if screen.busy is not None:  # one run at a time: say so, and link to it
        return {**_base(screen), "form": None, "busy": screen.busy}
    return None


@require_GET
@requires(Role.OPERATOR)
def run_form(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    """The form; ``?from=<run>`` starts from a past run's settings, ``?submission=<id>`` from a
    preview being changed."""
    screen = model_screen(user=request.user, model_id=model_id, acting=False, check_busy=True)
    if (refused := _refused(screen)) is not None:
        return _screen(request, refused, 200 if screen.model else screen.failed_status)
    pending = member_submission(request.user, request.GET.get("submission"))
    if pending is not None:
        form = RunStartForm(initial=RunStartForm.initial_from(pending.settings))
        return _screen(request, {**_base(screen), "form": form, "editing": True})
    initial, note = start_defaults(
        screen.model.id,
        model_hypertuning=getattr(screen.model, "hypertuning_parameters", None),
        from_run=request.GET.get("from", ""),
    )
    form = RunStartForm(initial=initial)
    return _screen(request, {**_base(screen), "form": form, "defaults_note": note})


@require_POST
@requires(Role.OPERATOR)
def run_preview(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    """What the run will do, to confirm; nothing is sent to Dr.Gero yet."""
    screen = model_screen(user=request.user, model_id=model_id, acting=True, check_busy=True)
    if (refused := _refused(screen)) is not None:
        return _screen(request, refused, 200 if screen.model else screen.failed_status)
    form = RunStartForm(request.POST)
    if not form.is_valid():
        return _screen(request, {**_base(screen), "form": form}, 422)
    model, settings = screen.model, form.run_settings()
    submission = run_prepare(
        user=request.user, model_id=model.id, model_name=model.name, settings=settings
    )
    return _screen(request, _confirmation(screen, form, submission, _why()))


def _why(data: Any = None) -> WhyForm:
    return WhyForm(data, purpose="starting this run", keeps_run=True)


def _confirmation(
    screen: ModelScreen, form: RunStartForm | None, submission: Any, why: WhyForm
) -> dict[str, Any]:
    model = screen.model
    settings = RunSettings.from_dict(submission.settings)
    return {
        **_base(screen),
        "form": form,
        "submission": submission,
        "sentence": run_sentence(model.name, settings),
        "estimate": duration_estimate(model.id),
        "why": why,
    }


def _run_page(run_id: str) -> str:
    # "#run-status": the run page moves focus to its status on arrival.
    return reverse("console:run-detail", args=[run_id]) + "#run-status" if run_id else ""


@require_POST
@requires(Role.OPERATOR)
def run_confirm(request: HtmxHttpRequest, model_id: str, submission: uuid.UUID) -> HttpResponse:
    """Start the run this submission describes: once, however often this is sent."""
    screen = model_screen(user=request.user, model_id=model_id, acting=True)
    if screen.model is None:
        return _screen(request, {"problem": screen.problem, "form": None}, screen.failed_status)
    model = screen.model
    pending = member_submission(request.user, str(submission))
    if pending is None or pending.model_id != model.id:
        messages.error(request, "That confirmation has expired; review the run again.")
        return redirect_after_success(request, reverse("console:run-new", args=[model.id]))
    why = _why(request.POST)
    if not why.is_valid():
        # Nothing was sent: the confirmation comes back with the note as typed.
        return _screen(request, _confirmation(screen, None, pending, why), 422)
    result = run_start(
        user=request.user,
        submission_id=pending.pk,
        note=why.cleaned_data["note"],
        request=request,
    )
    history = reverse("console:model-runs", args=[model.id])
    started = result.submission.run_id
    if result.duplicate:
        messages.info(request, "This run was already sent to Dr.Gero; nothing was sent again.")
        return redirect_after_success(request, _run_page(started) or history)
    if result.started:
        # The view, and focus, go to the new run's own page.
        messages.success(request, f"The fine-tune run of {model.name} was started.")
        return redirect_after_success(request, _run_page(started) or history)
    problem = result.problem
    if problem is not None and problem.kind == "unknown_start":
        messages.warning(request, problem.message)
        page = reverse("console:run-detail", args=[str(pending.pk)])
        return redirect_after_success(request, page)
    context = {
        "model": model,
        "form": RunStartForm(initial=RunStartForm.initial_from(pending.settings)),
        "problem": problem,
        "refused_active": result.refused_active,
    }
    return _screen(request, context, 422)
