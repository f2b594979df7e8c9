"""The fine-tune schedule editor: everyone reads, Operators edit (preview → confirm)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from console.forms import ScheduleForm
from console.htmx import HtmxHttpRequest
from console.roles import Role, has_role, refusal, requires
from console.services.schedules import (
    ScheduleChoice,
    last_scheduled_run,
    schedule_read,
    schedule_sentence,
    schedule_update,
)
from console.views.htmx import redirect_after_success, render_screen
from console.views.models import abilities, stand_in


def _screen(request: HtmxHttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render_screen(
        request,
        "console/schedule.html",
        "schedule-editor",
        {**abilities(request), **context},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@requires(Role.VIEWER)
def schedule_page(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    if request.method == "POST" and not has_role(request.user, Role.OPERATOR):
        return refusal(request, Role.OPERATOR)  # before anything is asked of Dr.Gero
    current = schedule_read(user=request.user, model_id=model_id)
    if current.value is None:
        problem = current.problem
        kept = stand_in(model_id, problem) if request.method == "POST" else None
        if kept is not None:
            # The schedule as typed comes back with the problem; it can be confirmed once
            # Dr.Gero answers again, since the confirmation shows the schedule before and after.
            form = ScheduleForm(request.POST, keep_cadence=request.POST.get("cadence"))
            form.is_valid()
            context = {
                "model": kept,
                "problem": problem,
                "form": form,
                "current_sentence": "Dr.Gero could not be reached, so the schedule it has now "
                "is not known.",
                "sentence": "",
            }
            return _screen(request, context, 503)
        status = problem.page_status if problem is not None else 200
        return _screen(request, {"problem": problem, "form": None}, status)
    model = current.value
    now = ScheduleChoice.from_schedule(model.schedule)
    base = {
        "model": model,
        "current": now,
        "current_sentence": schedule_sentence(model.name, now),
        "last_scheduled": last_scheduled_run(model.id),
    }
    if request.method == "GET":
        form = ScheduleForm(initial=ScheduleForm.initial_from(now), keep_cadence=now.cadence)
        return _screen(request, {**base, "form": form, "sentence": base["current_sentence"]})
    form = ScheduleForm(request.POST, keep_cadence=now.cadence)
    if not form.is_valid():
        return _screen(request, {**base, "form": form}, 422)
    choice = ScheduleChoice(**{**form.choice_values(), "mode": now.mode})
    sentence = schedule_sentence(model.name, choice)
    if request.POST.get("step") == "edit":
        return _screen(request, {**base, "form": form, "sentence": sentence, "editing": True})
    if choice == now or (not choice.enabled and not now.enabled):
        # Before and after would read the same: there is nothing to confirm.
        return _screen(request, {**base, "form": form, "sentence": sentence, "unchanged": True})
    if request.POST.get("step") != "confirm":
        return _screen(
            request,
            {
                **base,
                "form": form,
                "sentence": sentence,
                "confirming": True,
                "after_sentence": sentence,
            },
        )
    outcome = schedule_update(user=request.user, model_id=model.id, choice=choice, request=request)
    if outcome.problem is not None:
        return _screen(
            request, {**base, "form": form, "sentence": sentence, "problem": outcome.problem}, 422
        )
    messages.success(request, f"Schedule saved. {sentence}")
    return redirect_after_success(request, reverse("console:model-detail", args=[model.id]))


@require_GET
@requires(Role.VIEWER)
def schedule_summary(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    """The one-sentence summary, following the form as it changes (no Dr.Gero call)."""
    form = ScheduleForm(request.GET, keep_cadence=request.GET.get("cadence"))
    name = request.GET.get("model_name", "this model")[:300]
    if form.is_valid():
        sentence = schedule_sentence(name, ScheduleChoice(**form.choice_values()))
        if form.cleaned_data.get("enabled") != "on" and form.cleaned_data.get("cadence"):
            sentence += " The schedule stays off, so the cadence chosen is not used."
    else:
        sentence = "Finish the form to see what Dr.Gero will do."
    return render(request, "console/schedule.html#schedule-summary", {"sentence": sentence})
