"""A run's own page: status in words, its timeline, settings, who started it, audit events."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from console.htmx import HtmxHttpRequest
from console.roles import Role, requires
from console.selectors.run_page import resolved_start, run_view
from console.services.notices import notices_read
from console.views.htmx import render_screen, stop_polling
from console.views.models import abilities
from console.vocabulary import (
    ACTIVE_CATEGORIES,
    CATEGORY_WORDS,
    failure_advice,
    trigger_words,
)

OUTSIDE = "Started outside the console (Dr.Gero's schedule or another tool)"


@require_GET
@requires(Role.VIEWER)
def run_detail(request: HtmxHttpRequest, run_id: str) -> HttpResponse:
    view = run_view(run_id)
    if view is None:
        return _resolved_start(request, run_id)
    record = view.record
    active = record is not None and record.category in ACTIVE_CATEGORIES
    if record is not None:
        _read_its_notices(request, record.run_id)
    context = {
        "view": view,
        "record": record,
        "words": CATEGORY_WORDS.get(record.category, "") if record else "",
        "outside": OUTSIDE,
        "trigger_words": trigger_words(record.raw.get("trigger")) if record else "",
        "advice": failure_advice(record.error) if record and record.category == "failed" else "",
        "active": active,
        "poll_seconds": settings.CONSOLE_POLL_SECONDS,
        **abilities(request),
    }
    if request.GET.get("poll") == "1":
        response = render(request, "console/run_detail.html#run-live", context)
        return response if active else stop_polling(response)
    return render_screen(request, "console/run_detail.html", "run-live", context)


def _read_its_notices(request: HtmxHttpRequest, run_id: str) -> None:
    """The member's notices about this run are read once its page is open (the inbox's bold
    goes, and the header's count follows)."""
    unread = getattr(request, "console_unread", None)
    if unread == 0:
        return  # nothing unread at all: no write to try
    read = notices_read(request.user, run_id=run_id)
    if unread is not None:
        request.console_unread = max(0, unread - read)  # type: ignore[attr-defined]


def _resolved_start(request: HtmxHttpRequest, ident: str) -> HttpResponse:
    """The page of a start that was unknown: on to the run it became, or to the model's
    history saying that no run started."""
    submission = resolved_start(ident)
    if submission is None:
        raise Http404("The console knows no run with this id.")
    if submission.run_id:
        return redirect("console:run-detail", submission.run_id)
    name = submission.model_name or "this model"
    messages.info(
        request,
        f"The run start of {name} you followed did not become a run: Dr.Gero did not start it."
        + (f" {submission.message}" if submission.message else ""),
    )
    return redirect(reverse("console:model-runs", args=[submission.model_id]))
