"""The audit log page and its streamed exports (every role may read them)."""

from __future__ import annotations

import json

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from console.forms import AuditFilterForm
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
from console.services.audit import Actor, Target, audit_record
from console.views.htmx import HtmxHttpRequest, render_screen


def _filters(request: HtmxHttpRequest) -> tuple[AuditFilterForm, AuditFilters]:
    form = AuditFilterForm(request.GET)
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


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


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
        filters, before=_int(request.GET.get("before")), after=_int(request.GET.get("after"))
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
        "filtered": bool(query),
    }
    return render_screen(request, "console/audit.html", "audit-results", context)


def _export(request: HtmxHttpRequest, kind: str) -> StreamingHttpResponse:
    _, filters = _filters(request)
    audit_record(
        actor=Actor.of(request.user),
        action="audit.export",
        outcome="succeeded",
        target=Target("audit", "", f"audit.{kind}"),
        changes={"format": kind, "filters": filters.as_dict()},
        request=request,
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if kind == "csv":
        response = StreamingHttpResponse(audit_csv_lines(filters), content_type="text/csv")
    else:
        response = StreamingHttpResponse(
            audit_jsonl_lines(filters), content_type="application/x-ndjson"
        )
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{kind}"'
    return response


@require_GET
@requires(Role.VIEWER)
def audit_export_csv(request: HtmxHttpRequest) -> StreamingHttpResponse | HttpResponse:
    return _export(request, "csv")


@require_GET
@requires(Role.VIEWER)
def audit_export_jsonl(request: HtmxHttpRequest) -> StreamingHttpResponse | HttpResponse:
    return _export(request, "jsonl")
