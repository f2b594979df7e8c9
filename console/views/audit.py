"""The audit log page and its streamed exports (every role may read them)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from console.audit_words import action_words, details_words, outcome_words
from console.forms import AuditFilterForm
from console.htmx import HtmxHttpRequest
from console.models import AuditEvent
from console.roles import Role, requires
from console.selectors.audit import (
    AuditFilters,
    audit_csv_lines,
    audit_jsonl_lines,
    audit_page,
    deleted_models,
)
from console.selectors.exports import csv_error_line, finished, jsonl_error_line
from console.selectors.mirror import model_choices
from console.services.audit import Actor, Target, audit_record
from console.views.htmx import as_query_dict, render_screen


def _filters(request: HtmxHttpRequest) -> tuple[AuditFilterForm, AuditFilters]:
    form = AuditFilterForm(request.GET, models=model_choices())
    if not form.is_valid():
        return form, AuditFilters()
    data = form.cleaned_data
    return form, AuditFilters(
        actor=data["actor"].strip(),
        action=data["action"].strip(),
        model=data["model"].strip(),
        outcome=data["outcome"],
        since=data["since"],
        until=data["until"],
    )


def _target_link(event: AuditEvent, deleted: set[str]) -> str | None:
    """A model's page (while it exists) or a run's page, from the event that names it."""
    if not event.target_id or event.target_type not in ("model", "run"):
        return None
    if event.target_type == "model" and event.target_id in deleted:
        return None
    name = "console:model-detail" if event.target_type == "model" else "console:run-detail"
    try:
        return reverse(name, args=[event.target_id])
    except NoReverseMatch:
        return None


PRESETS = (("Today", 0), ("Last 7 days", 6), ("Last 30 days", 29))


def _presets(query: dict[str, str]) -> list[dict[str, Any]]:
    """Date presets that keep the other filters: today, the last 7 and the last 30 days."""
    today = timezone.localdate()
    presets = []
    for label, back in PRESETS:
        since = (today - timedelta(days=back)).isoformat()
        values = {**query, "since": since, "until": today.isoformat()}
        current = query.get("since") == since and query.get("until") == today.isoformat()
        presets.append({"label": label, "query": as_query_dict(values), "current": current})
    return presets


@require_GET
@requires(Role.VIEWER)
def audit_log(request: HtmxHttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    page = audit_page(
        filters, before=request.GET.get("before", ""), after=request.GET.get("after", "")
    )
    model_ids = {e.target_id for e in page.events if e.target_type == "model"}
    deleted = deleted_models(model_ids)
    rows = [
        {
            "event": e,
            "words": action_words(e.action),
            "details": details_words(e.action, json.loads(e.changes or "{}")),
            "why": outcome_words(e.outcome, e.status_code, e.message),
            "link": _target_link(e, deleted),
        }
        for e in page.events
    ]
    query = filters.as_dict()
    context = {
        "form": form,
        "rows": rows,
        "page": page,
        "query": query,
        "query_dict": as_query_dict(query),
        "filtered": bool(query),
        "filter_count": len(query),
        "presets": _presets(query),
    }
    return render_screen(request, "console/audit.html", "audit-results", context)


def export_refused(request: HtmxHttpRequest, form: Any, back: str) -> HttpResponse:
    """Filters that cannot be read: say which, export nothing (shared with the runs export)."""
    return render(
        request, "console/export_refused.html", {"errors": form.errors, "back": back}, status=400
    )


def _export(request: HtmxHttpRequest, kind: str) -> HttpResponseBase:
    form, filters = _filters(request)
    if not form.is_valid():
        return export_refused(request, form, reverse("console:audit"))

    def record(outcome: str, message: str) -> None:
        audit_record(
            actor=Actor.of(request.user),
            action="audit.export",
            outcome="succeeded" if outcome == "succeeded" else "failed",
            target=Target("audit", "", f"audit.{kind}"),
            changes={"format": kind, "filters": filters.as_dict()},
            message=message,
            request=request,
        )

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if kind == "csv":
        lines = finished(audit_csv_lines(filters), last_line=csv_error_line, on_end=record)
        response = StreamingHttpResponse(lines, content_type="text/csv")
    else:
        lines = finished(audit_jsonl_lines(filters), last_line=jsonl_error_line, on_end=record)
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{kind}"'
    return response


@require_GET
@requires(Role.VIEWER)
def audit_export_csv(request: HtmxHttpRequest) -> HttpResponseBase:
    return _export(request, "csv")


@require_GET
@requires(Role.VIEWER)
def audit_export_jsonl(request: HtmxHttpRequest) -> HttpResponseBase:
    return _export(request, "jsonl")
