"""Fine-tune runs: sync now, run history with live status, export. Starting a run is
``views/run_start.py``'s."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from console.csrf import get_token
from console.forms import RunFilterForm
from console.fragments import CSRF_MARK, Marked, fragment, mirror_state
from console.htmx import HtmxHttpRequest, wants_partial
from console.markup import escape
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
from console.templatetags.console_tags import filter_fields, relative_from
from console.views.audit import export_refused
from console.views.htmx import as_query_dict, redirect_after_success
from console.views.models import abilities


def _filters(request: HtmxHttpRequest, model_id: str | None) -> tuple[RunFilterForm, RunFilters]:
    return _read_filters(request.GET, model_id, model_choices())


def _read_filters(
    data: QueryDict, model_id: str | None, models: list[tuple[str, str]]
) -> tuple[RunFilterForm, RunFilters]:
    form = RunFilterForm(data, models=models, sorts=SORT_LABELS)
    if not form.is_valid():
        return form, RunFilters(model=model_id or "")
    cleaned = form.cleaned_data
    return form, RunFilters(
        status=cleaned["status"],
        model=model_id or cleaned["model"],
        started_by=cleaned["started_by"].strip(),
        origin=cleaned["origin"],
        since=cleaned["since"],
        until=cleaned["until"],
        sort=cleaned["sort"] or "newest",
    )


def _filter_bar(request: HtmxHttpRequest, model_id: str | None) -> tuple[SafeString, RunFilters]:
    """The filter bar's fields and the filters they give, for this query and these models."""
    fields = RunFilterForm.base_fields
    given = tuple((k, tuple(request.GET.getlist(k))) for k in sorted(request.GET) if k in fields)
    return _filter_bar_for(model_id, given, tuple(model_choices()))


@lru_cache(maxsize=256)
def _filter_bar_for(
    model_id: str | None, given: tuple[tuple[str, tuple[str, ...]], ...], models: tuple[Any, ...]
) -> tuple[SafeString, RunFilters]:
    """The same query and models give the same filters and fields (errors included), so they
    are worked out once per process: the history's form, its validation and its fifty model
    choices had cost a third of a page kept by console.fragments."""
    data = QueryDict(mutable=True)
    for name, values in given:
        data.setlist(name, list(values))
    form, filters = _read_filters(data, model_id, list(models))
    return SafeString(filter_fields(form, "model" if model_id else "")), filters


def _history(request: HtmxHttpRequest, model_id: str | None) -> HttpResponse:
    filter_bar, filters = _filter_bar(request, model_id)
    paused = request.GET.get("live") == "off"
    polling = request.GET.get("poll") == "1"
    # The worker keeps the mirror current; this page only reads it.
    freshness = mirror_freshness(model_id)
    query = filters.as_query()
    if model_id:
        query.pop("model", None)
    context = {
        "filter_bar": filter_bar,
        "query": query,
        "query_dict": as_query_dict(query),
        "filtered": bool({k for k in query if k != "sort"}),
        "filter_count": len({k for k in query if k != "sort"}),
        "model_id": model_id,
        "model_name": (known_model_name(model_id) or model_id) if model_id else "",
        "sync_state": model_sync_state(model_id) if model_id else None,
        "freshness": freshness,
        "poll_seconds": settings.CONSOLE_POLL_SECONDS,
        "base_url": request.path,
        **abilities(request),
    }
    serving = _Serving(mirror_state(), escape(get_token(request)))
    table, active = _table(request, filters, context, serving, paused=paused)
    if polling:
        if not active or paused:
            return HttpResponseStopPolling(table)
        return HttpResponse(table)
    if wants_partial(request) and request.htmx.target == "runs-table":
        return HttpResponse(table)
    chart = _chart(request, filters, serving)
    results = SafeString(f'<div id="runs-results">\n{chart}{table}</div>')
    if wants_partial(request):
        return HttpResponse(results)
    return render(request, "console/runs.html", {**context, "results": results})


@dataclass(frozen=True)
class _Serving:
    """Read once per request for the history's kept fragments (console.fragments): the
    mirror's state they are kept under, and the CSRF token the rows' forms are filled with."""

    state: str | None
    csrf: str

    def filled(self, kept: Marked) -> str:
        return kept.filled(csrf=self.csrf, now=timezone.now(), relative=relative_from)


def _mine(request: HtmxHttpRequest, filters: RunFilters) -> int | None:
    """The member, when the filters ask for their own runs (the rows are then theirs)."""
    return request.user.pk if filters.started_by == "me" else None


def _table(
    request: HtmxHttpRequest,
    filters: RunFilters,
    context: dict[str, Any],
    serving: _Serving,
    *,
    paused: bool,
) -> tuple[str, bool]:
    """The runs table, rendered once per state of the mirror, and whether it follows runs
    still going."""
    freshness = context["freshness"]

    def render_table() -> tuple[Marked, bool, bool]:
        page = runs_page(
            filters,
            user=request.user,
            after=request.GET.get("after", ""),
            before=request.GET.get("before", ""),
        )
        # An empty table may be waiting for the member's own token to be read: it is theirs.
        reading = not page.runs and token_reading(request.user)
        active = (
            freshness.sync_pending
            or any(r.category in ("queued", "running") for r in page.runs)
            or reading
        )
        extra = {
            "page": page,
            "reading_token": reading,
            "live": active and not paused,
            "paused": paused and active,
            "csrf_token": CSRF_MARK,
        }
        markup = render_to_string("console/runs.html#runs-table", {**context, **extra}, request)
        return Marked.of(markup), active, bool(page.runs)

    key = (
        "runs-table",
        request.get_full_path(),
        timezone.get_current_timezone_name(),
        context["can_run"],
        _mine(request, filters),
        freshness,
        settings.CONSOLE_POLL_SECONDS,
    )
    # An empty table is not kept: what it says may be the member's own (their token is read).
    markup, active, _ = fragment(key, render_table, keep=lambda t: t[2], state=serving.state)
    return serving.filled(markup), active


def _chart(request: HtmxHttpRequest, filters: RunFilters, serving: _Serving) -> str:
    """The runs-per-day chart, rendered once per state of the mirror."""

    def render_chart() -> Marked:
        chart = runs_chart(filters, user=request.user)
        context = {"chart": chart, "chart_order": CHART_ORDER}
        return Marked.of(render_to_string("console/runs.html#runs-chart", context, request))

    key = (
        "runs-chart",
        filters,
        _mine(request, filters),
        timezone.localdate(),
        timezone.get_current_timezone_name(),
    )
    return serving.filled(fragment(key, render_chart, state=serving.state))


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
