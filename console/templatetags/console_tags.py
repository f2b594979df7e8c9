"""Template filters for times and numbers people read."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def relative(value: datetime | None) -> str:
    """``3 minutes ago`` / ``in 2 hours``; the absolute time goes in the title."""
    if value is None:
        return "—"
    delta = timezone.now() - value
    future = delta < timedelta(0)
    seconds = abs(int(delta.total_seconds()))
    if seconds < 45:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            if unit == "day" and count > 30:
                return timezone.localtime(value).strftime("%d %b %Y")
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


@register.filter
def duration(seconds: float | int | None) -> str:
    """``41 min``, ``2 h 5 min``, ``12 s``."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


@register.filter
def people_number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


@register.filter
def get_item(mapping: dict | None, key: str) -> object:
    if not mapping:
        return None
    return mapping.get(key)


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


@register.filter
def slot_width(width: int, chart: object) -> float:
    """The width of one day's bar, leaving a small gap."""
    days = (chart.end - chart.start).days + 1  # type: ignore[attr-defined]
    return round(max(1.0, width / days - 2), 2)
