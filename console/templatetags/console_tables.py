"""Table rows rendered in Python.

The history and model tables show fifty rows of a dozen cells. Django's template engine spends
about a quarter of a millisecond per row on them, which on the models list cost more than the
whole console adds on top of Dr.Gero. Rows are built here instead, every value passed through
``escape`` exactly as the template engine would; the markup is what the templates
had, and the view tests parse it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from console.fragments import CSRF_MARK
from console.markup import escape
from console.templatetags.console_tags import (
    DASH,
    dataset_words,
    duration,
    run_status,
    when_in,
    yes_no,
)
from console.vocabulary import CADENCES, CREATION_WORDS

register = template.Library()


OUTSIDE_SHORT = (
    '<abbr title="Started outside the console (Dr.Gero\'s schedule or another tool)">'
    "Outside the console</abbr>"
)
PLACEHOLDER = "00000000-placeholder"


def _url(name: str) -> str:
    """A URL pattern reversed once per table; rows put their quoted id in the slot."""
    return reverse(name, args=[PLACEHOLDER])


def _link(pattern: str, ident: str) -> str:
    return escape(pattern.replace(PLACEHOLDER, quote(ident, safe="")))


# Each cell names its column in data-label: narrow screens show the rows as cards (label: value).
MODEL_COLUMNS = (
    "Name",
    "Creation",
    "Auto-update",
    "Keeps learning",
    "Hypertuning",
    "Schedule",
    "Latest run",
    "Updated",
)


def _cell(label: str, content: str, css: str = "") -> str:
    return f'<td data-label="{label}"{css}>{content}</td>'


def _cadence(model: Any) -> str:
    if not model.schedule:
        return '<span class="muted">Off</span>'
    cadence = model.schedule.cadence
    return escape(CADENCES[cadence][0] if cadence in CADENCES else cadence or "—")


def latest_run(index: int, run: Any, page: str, *, oob: bool = False) -> str:
    """A models-list row's latest run, linked to its page; ``latest-run-<row>`` is what the
    list's poll swaps while a run on the page is going."""
    content: str = DASH
    if run is not None:
        status = run_status(run.category, run.status)
        content = f'<a href="{_link(page, run.run_id)}">{status}</a>'
    swap = ' hx-swap-oob="true"' if oob else ""
    return f'<span id="latest-run-{index}"{swap}>{content}</span>'


@register.simple_tag
def model_rows(models: list[Any], latest: dict[str, Any] | None) -> SafeString:
    detail = _url("console:model-detail")
    page = _url("console:run-detail")
    now, zone = timezone.now(), timezone.get_current_timezone()
    rows = []
    for index, m in enumerate(models):
        name = f'<a href="{_link(detail, m.id)}">{escape(m.name or m.id)}</a>'
        if m.description:
            name += f'<br><span class="muted">{escape(Truncator(m.description).chars(80))}</span>'
        run = latest.get(m.id) if latest else None
        cells = (
            name,
            escape(CREATION_WORDS.get(m.creation_mode or "", m.creation_mode or "—")),
            yes_no(m.auto_update_model),
            yes_no(m.continuous_self_learning),
            yes_no(m.hypertuning_parameters),
            _cadence(m),
            latest_run(index, run, page),
            when_in(m.updated_at, now, zone),
        )
        rows.append("<tr>" + "".join(map(_cell, MODEL_COLUMNS, cells)) + "</tr>")
    return mark_safe("\n".join(rows))  # noqa: S308  (every value escaped above)


def _run_status_link(link: str, r: Any, *, error_chars: int | None = None) -> str:
    """A run's status linked to its page, and its error beneath (cut at ``error_chars``)."""
    status = f'<a href="{link}">{run_status(r.category, r.status)}</a>'
    if r.error:
        error = Truncator(r.error).chars(error_chars) if error_chars else r.error
        status += f'<br><span class="muted">{escape(error)}</span>'
    return status


@register.simple_tag
def recent_run_rows(runs: list[Any]) -> SafeString:
    """A model page's latest runs: the markup its template loop wrote, built in Python."""
    page = _url("console:run-detail")
    now, zone = timezone.now(), timezone.get_current_timezone()
    rows = []
    for r in runs:
        link = _link(page, r.run_id)
        status = _run_status_link(link, r)
        if r.origin == "console":
            starter = escape(r.started_by_username or "—")
        else:
            starter = '<span class="muted">Outside the console</span>'
        rows.append(
            "<tr>\n"
            f'      <td data-label="Status">{status}</td>\n'
            f'      <td data-label="Started by">{starter}</td>\n'
            f'      <td data-label="Created"><a href="{link}">'
            f"{when_in(r.created_at, now, zone)}</a></td>\n"
            f'      <td data-label="Finished">{when_in(r.finished_at, now, zone)}</td>\n'
            f'      <td data-label="Dataset">{escape(dataset_words(r))}</td>\n'
            "    </tr>"
        )
    return mark_safe("".join(rows))  # noqa: S308  (every value escaped above)


@register.simple_tag
def latest_runs_swaps(model_ids: list[str], latest: dict[str, Any]) -> SafeString:
    """The models list's latest runs, each swapped into its row by the list's poll."""
    page = _url("console:run-detail")
    cells = (latest_run(i, latest.get(m), page, oob=True) for i, m in enumerate(model_ids))
    return mark_safe("\n".join(cells))  # noqa: S308  (every value escaped)


def _starter(r: Any) -> str:
    """Who started the run, and the start of why (the whole note on hover and on its page)."""
    who = escape(r.started_by_username or "—")
    if not r.note:
        return who
    excerpt = escape(Truncator(r.note).chars(60))
    return f'{who}<br><span class="muted note" title="{escape(r.note)}">“{excerpt}”</span>'


@register.simple_tag(takes_context=True)
def run_rows(context: Any, runs: list[Any], *, show_model: bool, can_run: bool) -> SafeString:
    history = _url("console:model-runs")
    page = _url("console:run-detail")
    sync = _url("console:model-sync")
    token = str(context.get("csrf_token", ""))
    # A kept table carries a marker that each request fills with its own (escaped) token.
    csrf = token if token == CSRF_MARK else escape(token)
    back = escape(context["request"].get_full_path())
    now, zone = timezone.now(), timezone.get_current_timezone()
    rows = []
    for r in runs:
        run_page = _link(page, r.run_id)
        status = _run_status_link(run_page, r, error_chars=120)
        cells = [_cell("Status", status)]
        if show_model:
            link = _link(history, r.model_id)
            name = f'<a href="{link}">{escape(r.model_name or r.model_id)}</a>'
            cells.append(_cell("Model", name))
        cells += [
            _cell("Started by", _starter(r)),
            _cell("How started", "Console" if r.origin == "console" else OUTSIDE_SHORT),
            _cell("Created", f'<a href="{run_page}">{when_in(r.created_at, now, zone)}</a>'),
            _cell("Started", when_in(r.started_at, now, zone)),
            _cell("Finished", when_in(r.finished_at, now, zone)),
            _cell("Duration", escape(duration(r.duration_seconds)), ' class="num"'),
            _cell("Dataset", escape(dataset_words(r))),
            _cell("Synthetic", yes_no(r.create_synthetic_data)),
            _cell("Hypertuning", yes_no(r.hypertuning_enabled)),
        ]
        if can_run:
            action = ""
            if r.category in ("queued", "running", "unknown"):
                run_id = escape(r.run_id)
                action = (
                    f'<form method="post" action="{_link(sync, r.model_id)}">'
                    f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
                    f'<input type="hidden" name="run_id" value="{run_id}">'
                    f'<input type="hidden" name="next" value="{back}">'
                    '<button class="button button--quiet" type="submit">Check for updates'
                    f'<span class="visually-hidden"> of run {run_id}</span></button></form>'
                )
            cells.append(f'<td data-label="">{action}</td>' if action else "<td></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return mark_safe("\n".join(rows))  # noqa: S308  (every value escaped above)


@register.simple_tag
def chart_svg(chart: Any) -> SafeString:
    """The run chart: bars in an SVG that scales to the card, and the dates in an SVG of their
    own, unscaled, so they keep their size at every width. A month has up to 180 bars; as a
    template loop they cost more than the rest of the history page."""
    days = (chart.end - chart.start).days + 1
    width, height = chart.width, chart.height
    bar_width = round(max(1.0, width / days - 2), 2)
    summary = escape(chart.summary)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc"'
        ' class="chart__svg" preserveAspectRatio="none">'
        '<title id="chart-title">Runs per day by outcome</title>'
        f'<desc id="chart-desc">{summary}</desc>'
        f'<line x1="0" y1="{height - 18}" x2="{width}" y2="{height - 18}" class="chart__axis"/>'
    ]
    parts += [
        f'<rect x="{bar.x}" y="{bar.y}" width="{bar_width}" height="{bar.height}"'
        f' class="chart__bar chart__bar--{escape(bar.category)}">'
        f"<title>{escape(bar.label)}</title></rect>"
        for bar in chart.bars
    ]
    parts.append('</svg>\n<svg class="chart__days" aria-hidden="true">')
    for index, (x, label) in enumerate(chart.axis_labels):
        anchor = "start" if index == 0 else "middle"
        percent = round(100 * x / width, 2) if width else 0.0
        parts.append(
            f'<text x="{percent}%" y="13" class="chart__day" text-anchor="{anchor}">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every value escaped or a number)
