"""Date-range filters in the console's display time zone, shared by the history and the audit."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone


def within_days(
    queryset: QuerySet[Any], field: str, since: date | None, until: date | None
) -> QuerySet[Any]:
    """Rows whose ``field`` falls on the days ``since`` … ``until`` in CONSOLE_TIME_ZONE."""
    tz = timezone.get_current_timezone()
    if since:
        queryset = queryset.filter(**{f"{field}__gte": datetime.combine(since, time.min, tz)})
    if until:
        end = datetime.combine(until, time.min, tz) + timedelta(days=1)
        queryset = queryset.filter(**{f"{field}__lt": end})
    return queryset
