"""Run history reads: filters, sorts, keyset pages, the per-day chart and the CSV export."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import CharField, Count, F, Q, QuerySet
from django.db.models.functions import Cast, Substr, TruncDate
from django.utils import timezone

from console.models import RunRecord
from console.selectors.cursors import cursor_make, cursor_read
from console.selectors.dates import within_days
from console.selectors.exports import as_text, csv_lines, iso_utc, raw_rows
from console.vocabulary import dataset_phrase

PAGE_SIZE = 50
CHART_DAYS = 30
CHART_ORDER = (
    "succeeded",
    "failed",
    "cancelled",
    "gone",
    "running",
    "queued",
    "unknown",
    "unreadable",
)

# sort name → (field, descending). Ties are broken by id in the same direction.
SORTS: dict[str, tuple[str, bool]] = {
    "newest": ("created_at", True),
    "oldest": ("created_at", False),
    "longest": ("duration_seconds", True),
    "shortest": ("duration_seconds", False),
    "status": ("category", False),
}
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "longest": "Longest first",
    "shortest": "Shortest first",
    "status": "By status",
}


@dataclass(frozen=True)
class RunFilters:
    status: str = ""
    model: str = ""
    started_by: str = ""  # a username, or "me"
    origin: str = ""
    since: date | None = None
    until: date | None = None
    sort: str = "newest"

    def as_query(self) -> dict[str, str]:
        values = {
            "status": self.status,
            "model": self.model,
            "started_by": self.started_by,
            "origin": self.origin,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "sort": self.sort if self.sort != "newest" else "",
        }
        return {k: v for k, v in values.items() if v}


def runs_filtered(filters: RunFilters, *, user: User | None = None) -> QuerySet[RunRecord]:
    runs = RunRecord.objects.all()
    if filters.status:
        runs = runs.filter(category=filters.status)
    if filters.model:
        runs = runs.filter(model_id=filters.model)
    if filters.started_by == "me" and user is not None:
        runs = runs.filter(started_by=user)
    elif filters.started_by:
        runs = runs.filter(started_by_username=filters.started_by)
    if filters.origin:
        runs = runs.filter(origin=filters.origin)
    return within_days(runs, "created_at", filters.since, filters.until)


NOT_NULL = {"created_at", "category"}


def _after(field: str, descending: bool, value: Any, pk: int) -> Q:
    """Rows after (value, pk) in this order; NULLs come last, broken by pk the same way."""
    later_pk = Q(pk__lt=pk) if descending else Q(pk__gt=pk)
    if value is None:
        return Q(**{f"{field}__isnull": True}) & later_pk
    beyond = Q(**{f"{field}__lt" if descending else f"{field}__gt": value})
    if field in NOT_NULL:
        return beyond | (Q(**{field: value}) & later_pk)
    return beyond | (Q(**{field: value}) & later_pk) | Q(**{f"{field}__isnull": True})


def _before(field: str, descending: bool, value: Any, pk: int) -> Q:
    """Rows before (value, pk) in this order (for the previous page)."""
    earlier_pk = Q(pk__gt=pk) if descending else Q(pk__lt=pk)
    if value is None:
        return Q(**{f"{field}__isnull": False}) | (Q(**{f"{field}__isnull": True}) & earlier_pk)
    ahead = Q(**{f"{field}__gt" if descending else f"{field}__lt": value})
    return ahead | (Q(**{field: value}) & earlier_pk)


def _ordering(field: str, descending: bool, *, reverse: bool = False) -> list[Any]:
    """The page order (NULLs last), or its exact reverse for walking back a page.

    Columns that are never NULL are ordered plainly, so their indexes serve the order.
    """
    if field in NOT_NULL:
        desc = descending != reverse
        return [f"-{field}" if desc else field, "-pk" if desc else "pk"]
    if not reverse:
        primary = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
        return [primary, "-pk" if descending else "pk"]
    primary = F(field).asc(nulls_first=True) if descending else F(field).desc(nulls_first=True)
    return [primary, "pk" if descending else "-pk"]


@dataclass(frozen=True)
class RunsPage:
    runs: list[RunRecord]
    next_cursor: str | None
    prev_cursor: str | None


def runs_page(
    filters: RunFilters, *, user: User | None = None, after: str = "", before: str = ""
) -> RunsPage:
    """PAGE_SIZE runs in the chosen order, by keyset; no count over the whole table."""
    order = filters.sort if filters.sort in SORTS else "newest"
    field, descending = SORTS[order]
    # Only what the rows show, which is what the export writes: not Dr.Gero's whole answer (a
    # JSON parse a row) nor the times and links only a run's own page reads (a date parse
    # each, on SQLite).
    runs = runs_filtered(filters, user=user).select_related(None).only(*EXPORT_COLUMNS)
    if before and (cursor := cursor_read(order, before)):
        value, pk = cursor
        rows = list(
            runs.filter(_before(field, descending, value, pk)).order_by(
                *_ordering(field, descending, reverse=True)
            )[: PAGE_SIZE + 1]
        )
        has_prev = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        has_next = True
    else:
        if after and (cursor := cursor_read(order, after)):
            runs = runs.filter(_after(field, descending, *cursor))
            has_prev = True
        else:
            has_prev = False
        rows = list(runs.order_by(*_ordering(field, descending))[: PAGE_SIZE + 1])
        has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
    if not rows:
        return RunsPage([], None, None)
    first, last = rows[0], rows[-1]
    return RunsPage(
        rows,
        cursor_make(order, getattr(last, field), last.pk) if has_next else None,
        cursor_make(order, getattr(first, field), first.pk) if has_prev else None,
    )


# The chart.


@dataclass(frozen=True)
class ChartBar:
    x: float
    y: float
    height: float
    category: str
    label: str


@dataclass(frozen=True)
class Chart:
    start: date
    end: date
    width: int
    height: int
    bars: list[ChartBar]
    totals: dict[str, int]
    busiest: int
    axis_labels: list[tuple[float, str]]

    @property
    def summary(self) -> str:
        parts = [f"{n:,} {c}" for c in CHART_ORDER if (n := self.totals.get(c))]
        span = f"{self.start:%d %b} to {self.end:%d %b %Y}"
        if not parts:
            return f"No runs from {span}."
        return f"Runs per day from {span}: " + ", ".join(parts) + "."


def _day_expression() -> Any:
    """The run's day in the display time zone.

    On SQLite, Django converts each row's time in a Python function (tens of milliseconds for a
    month of a busy history); when the display zone is UTC, the stored text already starts with
    the day, so SQLite's own substr gives the same answer in C.
    """
    zone = timezone.get_current_timezone()
    if connection.vendor == "sqlite" and timezone.get_current_timezone_name() in ("UTC", "Etc/UTC"):
        return Substr(Cast("created_at", output_field=CharField()), 1, 10)
    return TruncDate("created_at", tzinfo=zone)


def runs_chart(filters: RunFilters, *, user: User | None = None) -> Chart:
    """Runs per day by outcome over the filtered range (the last 30 days when none is set)."""
    today = timezone.localdate()
    end = filters.until or today
    start = filters.since or (end - timedelta(days=CHART_DAYS - 1))
    if (end - start).days > 366:
        start = end - timedelta(days=366)
    ranged = RunFilters(**{**filters.__dict__, "since": start, "until": end})
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    rows = (
        runs_filtered(ranged, user=user)
        .annotate(day=_day_expression())
        .values("day", "category")
        .annotate(n=Count("*"))  # not Count("id"): the count comes from the index alone
        .order_by()
    )
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(row["day"])
        counts[day][row["category"]] = row["n"]
        totals[row["category"]] += row["n"]
    days = (end - start).days + 1
    width, height, pad = 720, 140, 18
    slot = width / days
    busiest = max((sum(v.values()) for v in counts.values()), default=0)
    scale = (height - pad) / busiest if busiest else 0
    bars = []
    for index in range(days):
        day = start + timedelta(days=index)
        y = float(height - pad)
        for category in CHART_ORDER:
            n = counts.get(day, {}).get(category, 0)
            if not n:
                continue
            h = n * scale
            y -= h
            bars.append(
                ChartBar(
                    round(index * slot + 1, 2),
                    round(y, 2),
                    round(h, 2),
                    category,
                    f"{day:%d %b}: {n} {category}",
                )
            )
    step = max(1, days // 6)
    axis = [
        (round(i * slot + slot / 2, 2), f"{start + timedelta(days=i):%d %b}")
        for i in range(0, days, step)
    ]
    return Chart(start, end, width, height, bars, dict(totals), busiest, axis)


# Export.

EXPORT_HEADER = (
    "run_id",
    "model_id",
    "model_name",
    "status",
    "category",
    "started_by",
    "origin",
    "created_at",
    "started_at",
    "finished_at",
    "duration_seconds",
    "dataset",
    "create_synthetic_data",
    "hypertuning_enabled",
    "error",
    "note",
)


EXPORT_COLUMNS = (
    "run_id",
    "model_id",
    "model_name",
    "status",
    "category",
    "started_by_username",
    "origin",
    "created_at",
    "started_at",
    "finished_at",
    "duration_seconds",
    "dataset_auto",
    "dataset_rows",
    "dataset_algorithm",
    "create_synthetic_data",
    "hypertuning_enabled",
    "error",
    "note",
)


# The three times come as the database's text (exports.as_text), named apart from the columns
# so that the ordering by created_at still uses the column itself.
EXPORT_COLUMNS_AS_TEXT = tuple(as_text(c) if c.endswith("_at") else c for c in EXPORT_COLUMNS)


def runs_csv_lines(
    filters: RunFilters, *, user: User | None = None, batch: int = 2000
) -> Iterator[str]:
    """Driver rows of the exported columns only (no model instances, no ``raw`` JSON, no
    per-value conversions; see ``exports.raw_rows``), so memory stays flat."""

    def rows() -> Iterator[tuple[Any, ...]]:
        field, descending = SORTS.get(filters.sort, SORTS["newest"])
        runs = runs_filtered(filters, user=user).order_by(*_ordering(field, descending))
        for (
            *as_is,  # run_id … origin, written as they are
            created,
            started,
            finished,
            seconds,
            auto,
            dataset_rows,
            algorithm,
            synthetic,
            hypertuning,
            error,
            note,
        ) in raw_rows(runs.values_list(*EXPORT_COLUMNS_AS_TEXT), batch=batch):
            yield (
                *as_is,
                iso_utc(created),
                iso_utc(started),
                iso_utc(finished),
                "" if seconds is None else seconds,
                dataset_phrase(auto=bool(auto), rows=dataset_rows, algorithm=algorithm)
                if algorithm
                else "",
                # SQLite's driver gives booleans as 0 and 1; the file says True or False.
                "" if synthetic is None else bool(synthetic),
                "" if hypertuning is None else bool(hypertuning),
                error,
                note,
            )

    return csv_lines(EXPORT_HEADER, rows())
