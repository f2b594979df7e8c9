"""Audit log reads: filtering, keyset pages and streamed exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from django.db.models import Q, QuerySet

from console.audit_words import action_words, details_words, outcome_words
from console.models import AuditEvent
from console.selectors.cursors import cursor_make, cursor_read
from console.selectors.dates import within_days
from console.selectors.exports import as_text, csv_lines, iso_utc, raw_rows

PAGE_SIZE = 50
EXPORT_BATCH = 2000


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    model: str = ""
    outcome: str = ""
    since: Any = None
    until: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if v is not None else "") for k, v in self.__dict__.items() if v}


def audit_filtered(filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.actor:
        events = events.filter(actor_username=filters.actor)
    if filters.action:
        events = events.filter(
            Q(action=filters.action) | Q(action__startswith=filters.action + ".")
        )
    if filters.model:
        events = events.filter(model_id=filters.model)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    return within_days(events, "created_at", filters.since, filters.until)


def schedule_plan_refused_at() -> Any:
    """When Dr.Gero last refused a schedule change for the team's plan (a 402), unless a
    schedule change went through since; None otherwise."""
    last = (
        AuditEvent.objects.filter(action__in=("schedule.update", "schedule.clear"))
        .exclude(outcome="unknown")
        .order_by("-seq")
        .values_list("status_code", "created_at")
        .first()
    )
    return last[1] if last and last[0] == 402 else None


def deleted_models(model_ids: set[str]) -> set[str]:
    """Which of these models the console has deleted (their audit links would lead nowhere).

    Filtered by action and target only, so the (action, target_id) index serves it; the outcome
    is checked here rather than in SQL, where it would tempt SQLite into the outcome index.
    """
    rows = AuditEvent.objects.filter(action="model.delete", target_id__in=model_ids)
    return {t for t, outcome in rows.values_list("target_id", "outcome") if outcome == "succeeded"}


@dataclass(frozen=True)
class KeysetPage:
    events: list[AuditEvent]
    newer: str | None  # ?after=… shows the page of newer events (a signed cursor)
    older: str | None  # ?before=… shows the page of older events


def _seq(cursor: str | None) -> int | None:
    read = cursor_read("audit", cursor)
    return read[1] if read else None


def audit_page(filters: AuditFilters, *, before: str = "", after: str = "") -> KeysetPage:
    """Newest first, PAGE_SIZE at a time, by sequence number; no count over the table.

    ``before`` and ``after`` are signed cursors from an earlier page; others are ignored.
    """
    before_seq, after_seq = _seq(before), _seq(after)
    if after_seq is not None:
        before_seq = None
    events = audit_filtered(filters)
    if after_seq is not None:
        rows = list(events.filter(seq__gt=after_seq).order_by("seq")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        has_older = bool(rows) and events.filter(seq__lt=rows[-1].seq).exists()
    else:
        if before_seq is not None:
            events = events.filter(seq__lt=before_seq)
        rows = list(events.order_by("-seq")[: PAGE_SIZE + 1])
        has_older = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_newer = (
            before_seq is not None
            and bool(rows)
            and audit_filtered(filters).filter(seq__gt=rows[0].seq).exists()
        )
    return KeysetPage(
        rows,
        newer=cursor_make("audit", rows[0].seq, rows[0].seq) if rows and has_newer else None,
        older=cursor_make("audit", rows[-1].seq, rows[-1].seq) if rows and has_older else None,
    )


EXPORT_FIELDS = (
    "seq",
    "created_at",
    "actor_username",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "outcome",
    "status_code",
    "message",
    "changes",
    "client_ip",
    "refers_to_seq",
    "mac",
)


# Beside the exact values, the same event in the words the audit page uses.
WORD_FIELDS = ("what", "details_in_words", "outcome_in_words")

CREATED = EXPORT_FIELDS.index("created_at")
ACTION = EXPORT_FIELDS.index("action")
OUTCOME = EXPORT_FIELDS.index("outcome")
STATUS = EXPORT_FIELDS.index("status_code")
MESSAGE = EXPORT_FIELDS.index("message")
CHANGES = EXPORT_FIELDS.index("changes")
CLIENT_IP = EXPORT_FIELDS.index("client_ip")
LINES_PER_CHUNK = 500


def _tuples(filters: AuditFilters) -> Iterator[list[Any]]:
    """The exported columns of each event, newest first, in keyset batches: no model
    instances, the chain's canonical text never read, the time already as ISO 8601 text."""
    events = audit_filtered(filters)
    columns = [as_text(f) if f == "created_at" else f for f in EXPORT_FIELDS]
    last = None
    while True:
        batch = events if last is None else events.filter(seq__lt=last)
        rows = list(raw_rows(batch.order_by("-seq").values_list(*columns)[:EXPORT_BATCH]))
        if not rows:
            return
        for row in rows:
            values = list(row)
            values[CREATED] = iso_utc(values[CREATED])
            if values[CLIENT_IP] is not None:
                values[CLIENT_IP] = str(values[CLIENT_IP])
            yield values
        last = rows[-1][0]


def _words(values: list[Any]) -> tuple[str, str, str]:
    return _worded(
        values[ACTION], values[CHANGES] or "", values[OUTCOME], values[STATUS], values[MESSAGE]
    )


@lru_cache(maxsize=8192)
def _worded(
    action: str, changes: str, outcome: str, status: int | None, message: str | None
) -> tuple[str, str, str]:
    """An event's words for the exports, once per distinct event content: a million events
    repeat a few thousand of them, and one lookup a row is what the export can afford."""
    return (
        action_words(action),
        details_words(action, orjson.loads(changes or "{}")).one_line(),
        outcome_words(outcome, status, message or ""),
    )


def audit_csv_lines(filters: AuditFilters) -> Iterator[str]:
    rows = (values + list(_words(values)) for values in _tuples(filters))
    return csv_lines((*EXPORT_FIELDS, *WORD_FIELDS), rows)


def audit_jsonl_lines(filters: AuditFilters) -> Iterator[str]:
    """One JSON object per line, in chunks of a few hundred lines.

    orjson writes them (a million events is the size this export is measured at, and the
    standard library's encoder alone took longer than the whole target); times come out as
    ISO 8601 with their offset, as ``datetime.isoformat`` writes them.
    """
    names = EXPORT_FIELDS
    lines: list[bytes] = []
    for row in _tuples(filters):
        record = dict(zip(names, row, strict=True))
        record["changes"] = orjson.loads(row[CHANGES] or "{}")
        record.update(zip(WORD_FIELDS, _words(row), strict=True))
        lines.append(orjson.dumps(record))
        if len(lines) == LINES_PER_CHUNK:
            yield (b"\n".join(lines) + b"\n").decode()
            lines = []
    if lines:
        yield (b"\n".join(lines) + b"\n").decode()
