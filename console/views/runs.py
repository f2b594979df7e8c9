"""Fine-tune runs: sync now, run history with live status, export. Starting a run is
``views/run_start.py``'s."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from console.forms import RunFilterForm
from console.htmx import HtmxHttpRequest, wants_partial
from console.roles import Role, requires
from console.selectors.exports import csv_error_line, finished
from console.selectors.mirror import (
    known_model_name,
    mirror_freshness,
    model_choices,
    model_sync_state,
)
from console.selectors.runs import (
    CHART_ORDER,
    SORT_LABELS,
    RunFilters,
    runs_chart,
    runs_csv_lines,
    runs_page,
)
from console.services.run_checks import run_sync_request
from console.services.tokens import token_reading
from console.views.audit import export_refused
from console.views.htmx import as_query_dict, redirect_after_success, render_screen
from console.views.models import abilities


def _filters(request: HtmxHttpRequest, model_id: str | None) -> tuple[RunFilterForm, RunFilters]:
    form = RunFilterForm(request.GET, models=model_choices(), sorts=SORT_LABELS)
    if not form.is_valid():
        return form, RunFilters(model=model_id or "")
    data = form.cleaned_data
    return form, RunFilters(
        status=data["status"],
        model=model_id or data["model"],
        started_by=data["started_by"].strip(),
        origin=data["origin"],
        since=data["since"],
        until=data["until"],
        sort=data["sort"] or "newest",
    )


def _history(request: HtmxHttpRequest, model_id: str | None) -> HttpResponse:
    form, filters = _filters(request, model_id)
    paused = request.GET.get("live") == "off"
    polling = request.GET.get("poll") == "1"
    # The worker keeps the mirror current; this page only reads it.
    freshness = mirror_freshness(model_id)
    page = runs_page(
        filters,
        user=request.user,
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
    )
    reading = not page.runs and token_reading(request.user)  # the table follows until they come
    active = (
        freshness.sync_pending
        or any(r.category in ("queued", "running") for r in page.runs)
        or reading
    )
    query = filters.as_query()
    if model_id:
        query.pop("model", None)
    context = {
        "form": form,
        "page": page,
        "query": query,
        "query_dict": as_query_dict(query),
        "filtered": bool({k for k in query if k != "sort"}),
        "filter_count": len({k for k in query if k != "sort"}),
        "model_id": model_id,
        "model_name": (known_model_name(model_id) or model_id) if model_id else "",
        "sync_state": model_sync_state(model_id),
        "freshness": freshness,
        "reading_token": reading,
        "live": active and not paused,
        "paused": paused and active,
        "poll_seconds": settings.CONSOLE_POLL_SECONDS,
        "base_url": request.path,
        **abilities(request),
    }
    if polling:
        response = render(request, "console/runs.html#runs-table", context)
        if not active or paused:
            stop = HttpResponseStopPolling(response.content)
            stop["Content-Type"] = response["Content-Type"]
            return stop
        return response
    if wants_partial(request) and request.htmx.target == "runs-table":
        return render(request, "console/runs.html#runs-table", context)
    context["chart"] = runs_chart(filters, user=request.user)
    context["chart_order"] = CHART_ORDER
    return render_screen(request, "console/runs.html", "runs-results", context)


@require_GET
@requires(Role.VIEWER)
def runs_all(request: HtmxHttpRequest) -> HttpResponse:
    return _history(request, None)


@require_GET
@requires(Role.VIEWER)
def runs_for_model(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    return _history(request, model_id)


def _export(request: HtmxHttpRequest, model_id: str | None) -> HttpResponseBase:
    form, filters = _filters(request, model_id)
    if not form.is_valid():
        history = ("console:model-runs", [model_id]) if model_id else ("console:runs", [])
        return export_refused(request, form, reverse(history[0], args=history[1]))
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    lines = finished(
        runs_csv_lines(filters, user=request.user),
        last_line=csv_error_line,
        on_end=lambda outcome, message: None,
    )
    response = StreamingHttpResponse(lines, content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="runs-{stamp}.csv"'
    return response


@require_GET
@requires(Role.VIEWER)
def runs_export(request: HtmxHttpRequest) -> HttpResponseBase:
    return _export(request, None)


@require_GET
@requires(Role.VIEWER)
def runs_export_for_model(request: HtmxHttpRequest, model_id: str) -> HttpResponseBase:
    return _export(request, model_id)


@require_POST
@requires(Role.OPERATOR)
def model_sync(request: HtmxHttpRequest, model_id: str) -> HttpResponse:
    """Hand a check with Dr.Gero to the worker; the history shows it pending, then done."""
    run_id = request.POST.get("run_id", "").strip() or None
    if run_sync_request(user=request.user, model_id=model_id, run_id=run_id):
        messages.info(
            request,
            "Checking Dr.Gero for updates of this run…"
            if run_id
            else "Checking Dr.Gero for updates of this model's runs…",
        )
    else:
        messages.error(
            request,
            "The console's worker could not be reached just now, so nothing was checked. "
            "Try again in a moment.",
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("console:model-runs", args=[model_id])
    return redirect_after_success(request, back)
