"""The audit log page and its streamed exports (every role may read them)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from console.forms import AuditFilterForm
from console.htmx import HtmxHttpRequest
from console.models import AuditEvent
from console.roles import Role, requires
from console.selectors.audit import (
    AuditFilters,
    action_words,
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


def _model_link(event: AuditEvent, deleted: set[str]) -> str | None:
    if event.target_type != "model" or not event.target_id or event.target_id in deleted:
        return None
    try:
        return reverse("console:model-detail", args=[event.target_id])
    except NoReverseMatch:
        return None


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
            "changes": json.loads(e.changes or "{}"),
            "link": _model_link(e, deleted),
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
