"""Template filters for times and numbers people read."""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from console.fragments import deferred_times, time_mark
from console.markup import escape, format_html, format_html_join
from console.vocabulary import duration_phrase

register = template.Library()


@register.filter
def relative(value: datetime | None) -> str:
    """``3 minutes ago`` / ``in 2 hours``; the absolute time goes in the title."""
    if value is None:
        return "—"
    return relative_to(value, timezone.now(), timezone.get_current_timezone())


def relative_to(value: datetime, now: datetime, zone: tzinfo) -> str:
    """``relative`` with the clock and the display zone read once by the caller (a table of
    fifty rows would read them a hundred and fifty times)."""
    return relative_words(
        (now - value).total_seconds(), lambda: value.astimezone(zone).strftime("%d %b %Y")
    )


def relative_words(delta: float, far: Callable[[], str] | str) -> str:
    """``3 minutes ago`` / ``in 2 hours`` for a moment ``delta`` seconds before now (after,
    when negative); ``far`` (the date) when it is more than a month away."""
    future = delta < 0
    seconds = abs(int(delta))
    if seconds < 45:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            if unit == "day" and count > 30:
                return far() if callable(far) else far
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def relative_from(stamp: float, now: float, far: str) -> str:
    """A kept fragment's relative time (see console.fragments), filled in for this request."""
    return relative_words(now - stamp, far)


@register.filter
def duration(seconds: float | int | None) -> str:
    """``41 min``, ``2 h 5 min``, ``12 s``."""
    return duration_phrase(seconds) or "—"


@register.filter
def dataset_words(record: object) -> str:
    """A mirrored run's dataset in plain words."""
    from console.vocabulary import dataset_phrase

    algorithm = getattr(record, "dataset_algorithm", "")
    if not algorithm:
        return "—"
    return dataset_phrase(
        auto=bool(getattr(record, "dataset_auto", False)),
        rows=getattr(record, "dataset_rows", None),
        algorithm=algorithm,
    )


# Cell helpers as Python tags rather than {% include %}: a table of fifty rows would otherwise
# render hundreds of sub-templates per page, which cost more than the whole Dr.Gero call.

STATUS_ICONS = {
    "queued": ("◷", "Queued", "Queued: waiting for Dr.Gero to start it"),
    "running": ("▶", "Running", "Running: training now"),
    "succeeded": ("✓", "Succeeded", "Succeeded: finished; the model was updated"),
    "failed": ("✗", "Failed", "Failed: ended with an error"),
    "cancelled": ("■", "Cancelled", "Cancelled: stopped before finishing"),
    "gone": ("∅", "No longer in Dr.Gero", "No longer in Dr.Gero: it stopped listing this run"),
    "unreadable": (
        "?",
        "Unknown — no token can read it",
        "Unknown: no member's token can read this model any more",
    ),
}
OUTCOMES = {"succeeded": ("✓", "Succeeded"), "failed": ("✗", "Failed"), "unknown": ("?", "Unknown")}


DASH = mark_safe('<span class="muted">—</span>')  # noqa: S308  (constant markup)
YES = mark_safe('<span aria-hidden="true">●</span> Yes')  # noqa: S308
NO = mark_safe('<span aria-hidden="true">○</span> No')  # noqa: S308


@register.simple_tag
def when(value: datetime | None) -> str:
    """A relative time, with the absolute time and zone on hover.

    Every part is generated here from a datetime (digits, month names, the zone's name), and
    escaped all the same.
    """
    if value is None:
        return DASH
    return when_in(value, timezone.now(), timezone.get_current_timezone())


def when_in(value: datetime | None, now: datetime, zone: tzinfo) -> str:
    """``when`` with the clock and the display zone read once by the caller."""
    if value is None:
        return DASH
    local = value.astimezone(zone)
    # Digits and the console's own words need no escaping; the zone's name is escaped. A
    # history table asks this a hundred and fifty times, so it is written out by hand.
    zone_name = html.escape(local.tzname() or "")
    title = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d} "
        f"{local.hour:02d}:{local.minute:02d}:{local.second:02d} {zone_name}"
    )
    if deferred_times():  # kept for other requests: the words are filled in for each
        words = time_mark(value, local.strftime("%d %b %Y"))
    else:
        words = relative_to(value, now, zone)
    # Digits, fixed words and an escaped zone name; SafeString directly, as mark_safe's
    # lazy-string check cost a fifth of this.
    return SafeString(f'<time datetime="{value.isoformat()}" title="{title}">{words}</time>')


@register.simple_tag
def at(value: datetime | None) -> str:
    """An absolute time, visible without hovering, with the relative time after it:
    ``27 Nov 2026, 14:03 UTC (3 minutes ago)``."""
    if value is None:
        return DASH
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time> <span class="muted">({})</span>',
        value.isoformat(),
        local.strftime("%d %b %Y, %H:%M %Z"),
        relative(value),
    )


@register.simple_tag
def yes_no(value: bool | None) -> str:
    if value is None:
        return DASH
    return YES if value else NO


@register.simple_tag
def run_status(category: str, status: str = "") -> str:
    """Status as text and icon, never colour alone; an unknown status is shown as sent."""
    known = STATUS_ICONS.get(category)
    if known is None:
        return format_html(
            '<span class="status status--unknown" title="{}"><span aria-hidden="true">?</span> '
            "{}</span>",
            "A status the console does not know, shown as Dr.Gero sent it",
            status or "Unknown",
        )
    icon, label, meaning = known
    title = escape(f"{meaning} (Dr.Gero: {status})" if status else meaning)
    return SafeString(  # the title is escaped; the rest is constant
        f'<span class="status status--{category}" title="{title}"><span aria-hidden="true">'
        f"{icon}</span> {label}</span>"
    )


@register.simple_tag
def outcome(value: str) -> str:
    icon, label = OUTCOMES.get(value, ("?", value))
    return format_html(
        '<span class="status status--{}"><span aria-hidden="true">{}</span> {}</span>',
        value,
        icon,
        label,
    )


@register.simple_tag
def lockout_wait() -> str:
    """How long a lock-out lasts, in words (``15 minutes``), from AXES_COOLOFF_TIME in hours."""
    from django.conf import settings

    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@register.filter
def message_link(message: object) -> str:
    """A notice's link (a console path), for the layout's messages."""
    from console.middleware import message_link as link

    return link(message)


@register.simple_tag(takes_context=True)
def whom_to_ask(context: template.Context) -> str:
    """ "ask Admin ana" / "ask an Admin: ana or bo", from the team's active Admins."""
    from console.selectors.team import ask_admins

    return ask_admins(list(context.get("team_admins") or []))


@register.simple_tag(takes_context=True)
def needs_role(context: template.Context, role: str, what: str) -> str:
    """Where a button is missing for this member's role: a focusable note saying why, and whom
    to ask — "Starting runs needs the Operator role — ask Admin ana"."""
    return format_html(
        '<span class="needs-role" tabindex="0">{} {} the {} role — {}.</span>',
        what,
        "need" if " and " in what else "needs",
        role,
        whom_to_ask(context),
    )


@register.filter(name="action_words")
def action_words_filter(action: str) -> str:
    """An audit action in the words of the audit page (codes stay in the exports)."""
    from console.audit_words import action_words

    return action_words(action)


@register.simple_tag
def copy_id(ident: str, what: str) -> str:
    """A Dr.Gero id behind a "Copy id" button: kept out of headings, one click to copy."""
    return format_html(
        '<span class="copy-id"><button type="button" class="button button--quiet" '
        'data-copy="#{}-id">Copy {} id</button><code id="{}-id" class="visually-hidden">{}'
        "</code></span>",
        what,
        what,
        what,
        ident,
    )


@register.filter
def category_words(category: str) -> str:
    """A run's category as a word or two for a sentence: ``running``, ``no longer in Dr.Gero``."""
    from console.vocabulary import CATEGORY_WORDS

    label = CATEGORY_WORDS.get(category, category).split(" — ")[0]
    return label if label.startswith("Dr.Gero") else label[:1].lower() + label[1:]


def _field_errors(field: Any) -> str:
    """A field's errors, tied to it by id (``aria-describedby`` and the tests find them)."""
    if not field.errors:
        return ""
    return format_html(
        '<div class="field-errors" id="{}_error">{}</div>',
        field.auto_id,
        format_html_join("", "<p>{}</p>", ((e,) for e in field.errors)),
    )


# An empty form whose class says its fields are the same for everyone
# (``same_for_everyone = True``: no initial values, no choices or attributes per member or
# request) renders the same fields every time: once per class, prefix and language.
_EMPTY_FORMS: dict[tuple[Any, ...], str] = {}


@receiver(setting_changed)
def _forget_empty_forms(**kwargs: Any) -> None:
    """A test that changes the settings (the password validators' help) renders them anew."""
    _EMPTY_FORMS.clear()


@register.simple_tag
def form_fields(form: Any) -> str:
    """A form's fields as every console form shows them: a label, the widget, its help and its
    errors (tied to the field by id), non-field errors first and hidden fields last.

    Built in Python: as an included template it cost a fifth of a small page's server time.
    Values are escaped as the template engine escapes them; help texts are the forms' own
    words, which may hold markup (as ``|safe`` allowed before).
    """
    if form.is_bound or not getattr(form, "same_for_everyone", False):
        return _form_fields(form)
    key = (type(form), form.prefix, form.auto_id, get_language())
    rendered = _EMPTY_FORMS.get(key)
    if rendered is None:
        rendered = _EMPTY_FORMS[key] = _form_fields(form)
    return rendered


def _form_fields(form: Any) -> str:
    parts = []
    if errors := form.non_field_errors():
        parts.append(
            format_html(
                '<div class="form-errors" role="alert">{}</div>',
                format_html_join("", "<p>{}</p>", ((e,) for e in errors)),
            )
        )
    for field in form.visible_fields():
        help_text = ""
        if field.help_text:
            help_text = format_html(
                '<p class="help" id="{}_helptext">{}</p>',
                field.auto_id,
                mark_safe(str(field.help_text)),  # noqa: S308  (the form's own words)
            )
        parts.append(
            format_html(
                '<div class="field{}">\n  <label for="{}">{}</label>\n  {}\n  {}\n  {}\n</div>',
                " field--invalid" if field.errors else "",
                field.id_for_label,
                field.label,
                field.as_widget(),
                help_text,
                _field_errors(field),
            )
        )
    parts.extend(field.as_widget() for field in form.hidden_fields())
    return mark_safe("\n".join(str(p) for p in parts))  # noqa: S308  (built by format_html)


# The filter forms' fields, as rendered for a given query and set of choices: the history and
# the audit log render the same few dozen combinations over and over (every poll, every
# member), so each is rendered once per process. Bounded, oldest dropped first.
_FILTER_FIELDS: OrderedDict[tuple[Any, ...], str] = OrderedDict()
FILTER_FIELDS_KEPT = 256


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return str(value)


@register.simple_tag
def filter_fields(form: Any, skip: str = "") -> str:
    """A filter form's fields (label, widget, errors), but ``skip``; the same markup each
    filter bar had as a template loop."""
    key = None
    if form.is_bound and not form.errors:
        data = tuple(
            (k, tuple(form.data.getlist(k))) for k in sorted(form.data) if k in form.fields
        )
        choices = tuple(
            (name, _hashable(getattr(field, "choices", ()))) for name, field in form.fields.items()
        )
        key = (type(form).__name__, skip, data, choices)
        if (found := _FILTER_FIELDS.get(key)) is not None:
            _FILTER_FIELDS.move_to_end(key)
            return mark_safe(found)  # noqa: S308  (rendered below, every value escaped)
    parts = []
    for field in form:
        if field.name == skip:
            continue
        errors = _field_errors(field)
        parts.append(
            format_html(
                '<div class="field">\n    <label for="{}">{}</label>\n    {}{}\n  </div>',
                field.id_for_label,
                field.label,
                field.as_widget(),
                format_html("\n    {}", errors) if errors else "",
            )
        )
    rendered = "\n  ".join(str(p) for p in parts)
    if key is not None:
        _FILTER_FIELDS[key] = rendered
        if len(_FILTER_FIELDS) > FILTER_FIELDS_KEPT:
            _FILTER_FIELDS.popitem(last=False)
    return mark_safe(rendered)  # noqa: S308  (built by format_html)
