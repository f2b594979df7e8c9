"""A run's own page: status in words, its timeline, settings, who started it, audit events."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from console.htmx import HtmxHttpRequest
from console.roles import Role, requires
from console.selectors.run_page import run_view
from console.views.htmx import render_screen
from console.views.models import abilities
from console.vocabulary import ACTIVE_CATEGORIES, CATEGORY_WORDS

OUTSIDE = "Started outside the console (Dr.Gero's schedule or another tool)"


@require_GET
@requires(Role.VIEWER)
def run_detail(request: HtmxHttpRequest, run_id: str) -> HttpResponse:
    view = run_view(run_id)
    if view is None:
        raise Http404("The console knows no run with this id.")
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
