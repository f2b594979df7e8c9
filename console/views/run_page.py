"""A run's own page: status in words, its timeline, settings, who started it, audit events."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from console.htmx import HtmxHttpRequest
from console.roles import Role, requires
from console.selectors.run_page import resolved_start, run_view
from console.views.htmx import render_screen
from console.views.models import abilities
from console.vocabulary import ACTIVE_CATEGORIES, CATEGORY_WORDS

OUTSIDE = "Started outside the console (Dr.Gero's schedule or another tool)"


@require_GET
@requires(Role.VIEWER)
def run_detail(request: HtmxHttpRequest, run_id: str) -> HttpResponse:
    view = run_view(run_id)
    if view is None:
        return _resolved_start(request, run_id)
    record = view.record
    active = record is not None and record.category in ACTIVE_CATEGORIES
    context = {
        "view": view,
        "record": record,
        "words": CATEGORY_WORDS.get(record.category, "") if record else "",
        "outside": OUTSIDE,
        "active": active,
        "poll_seconds": settings.CONSOLE_POLL_SECONDS,
        **abilities(request),
    }
    if request.GET.get("poll") == "1":
        response = render(request, "console/run_detail.html#run-live", context)
        if not active:
            stop = HttpResponseStopPolling(response.content)
            stop["Content-Type"] = response["Content-Type"]
            return stop
        return response
    return render_screen(request, "console/run_detail.html", "run-live", context)


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
