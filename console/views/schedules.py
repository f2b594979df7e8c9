"""The fine-tune schedule editor, one view per step: everyone reads the page (GET); Operators
preview a change (POST) and confirm it (POST to its own URL), which Dr.Gero then applies."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from console.forms import ScheduleForm, WhyForm
from console.htmx import HtmxHttpRequest
from console.roles import Role, requires
from console.selectors.tokens import token_record
from console.services.schedules import ScheduleChoice, schedule_sentence, schedule_update
from console.services.screens import ScheduleScreen, schedule_screen, schedule_screen_recorded
from console.views.htmx import redirect_after_success, render_screen
from console.views.models import abilities


def _screen(request: HtmxHttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render_screen(
        request,
        "console/schedule.html",
        "schedule-editor",
        {**abilities(request), **context},
        status=status,
    )


@require_GET
@requires(Role.VIEWER)
def schedule_page(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    """The schedule now and its form; "Change settings" comes back here with the values.
    A member without a token of their own sees it as the console last read it."""
    if not token_record(request.user):
        screen = schedule_screen_recorded(model_id=model_id)
        status = screen.problem.page_status if screen.problem is not None else 200
        return _screen(request, {**screen.context, "form": None}, status)
    screen = schedule_screen(user=request.user, model_id=model_id, acting=False)
    if screen.model is None or screen.current is None:
        status = screen.problem.page_status if screen.problem is not None else 200
        return _screen(request, {"problem": screen.problem, "form": None}, status)
    now = screen.current
    editing = "enabled" in request.GET
    initial = request.GET.dict() if editing else ScheduleForm.initial_from(now)
    # Only the cadence Dr.Gero has now is kept among the choices; one from the address is not.
    form = ScheduleForm(initial=initial, keep_cadence=now.cadence)
    context = {**screen.context, "form": form, "sentence": screen.current_sentence}
    return _screen(request, {**context, "editing": editing})


def _posted(request: HtmxHttpRequest, screen: ScheduleScreen) -> tuple[ScheduleForm, Any]:
    """The form as posted, and the choice it makes (None when the form is not valid)."""
    now = screen.current
    form = ScheduleForm(
        request.POST, keep_cadence=now.cadence if now else request.POST.get("cadence")
    )
    if not form.is_valid():
        return form, None
    mode = now.mode if now else ScheduleChoice.from_schedule(None).mode
    return form, ScheduleChoice(**{**form.choice_values(), "mode": mode})


def _unavailable(request: HtmxHttpRequest, screen: ScheduleScreen) -> HttpResponse | None:
    """Nothing to edit (no such model), or Dr.Gero failing: the form keeps what was typed."""
    if screen.model is None:
        status = screen.problem.page_status if screen.problem is not None else 502
        return _screen(request, {"problem": screen.problem, "form": None}, status)
    if screen.current is None:
        form = ScheduleForm(request.POST, keep_cadence=request.POST.get("cadence"))
        form.is_valid()
        return _screen(request, {**screen.context, "form": form, "sentence": ""}, 503)
    return None


Reviewed = tuple[ScheduleScreen, ScheduleChoice, dict[str, Any]]


def _review(request: HtmxHttpRequest, model_id: str) -> Reviewed | HttpResponse:
    """The model and the posted change; an answer instead when there is nothing to confirm
    (no model, Dr.Gero failing, a form with errors, or a change that changes nothing)."""
    screen = schedule_screen(user=request.user, model_id=model_id, acting=True)
    if (answer := _unavailable(request, screen)) is not None:
        return answer
    form, choice = _posted(request, screen)
    if choice is None:
        return _screen(request, {**screen.context, "form": form}, 422)
    sentence = schedule_sentence(screen.model.name, choice)
    context = {**screen.context, "form": form, "sentence": sentence}
    now = screen.current
    if choice == now or (not choice.enabled and now is not None and not now.enabled):
        # Before and after would read the same: there is nothing to confirm or send.
        return _screen(request, {**context, "unchanged": True})
    return screen, choice, context


@require_POST
@requires(Role.OPERATOR)
def schedule_preview(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    """Before and after, in words, to confirm; nothing is sent to Dr.Gero yet."""
    reviewed = _review(request, model_id)
    if isinstance(reviewed, HttpResponse):
        return reviewed
    _, _, context = reviewed
    return _screen(request, _confirming(context, _why()))


def _why(data: Any = None) -> WhyForm:
    return WhyForm(data, purpose="changing the schedule")


def _confirming(context: dict[str, Any], why: WhyForm) -> dict[str, Any]:
    return {**context, "confirming": True, "after_sentence": context["sentence"], "why": why}


@require_POST
@requires(Role.OPERATOR)
def schedule_confirm(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    """Apply the confirmed schedule in Dr.Gero (audited, with before and after)."""
    reviewed = _review(request, model_id)
    if isinstance(reviewed, HttpResponse):
        return reviewed
    screen, choice, context = reviewed
    why = _why(request.POST)
    if not why.is_valid():
        return _screen(request, _confirming(context, why), 422)
    outcome = schedule_update(
        user=request.user,
        model_id=screen.model.id,
        choice=choice,
        note=why.cleaned_data["note"],
        request=request,
    )
    if outcome.problem is not None:
        return _screen(request, {**context, "problem": outcome.problem}, 422)
    sentence = context["sentence"]
    messages.success(request, f"Schedule saved. {sentence}")
    return redirect_after_success(request, reverse("console:model-detail", args=[screen.model.id]))


@require_GET
@requires(Role.VIEWER)
def schedule_summary(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    """The one-sentence summary, following the form as it changes (no Dr.Gero call)."""
    form = ScheduleForm(request.GET, keep_cadence=request.GET.get("cadence"))
    name = request.GET.get("model_name", "this model")[:300]
    if form.is_valid():
        sentence = schedule_sentence(name, ScheduleChoice(**form.choice_values()))
    else:
        sentence = "Finish the form to see what Dr.Gero will do."
    return render(request, "console/schedule.html#schedule-summary", {"sentence": sentence})
