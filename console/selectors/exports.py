"""Streamed CSV for exports, with spreadsheet-formula cells neutralised."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import connections
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

log = logging.getLogger(__name__)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (= + - @ tab CR) is made plain text;
    numbers and booleans stay as they are (a spreadsheet reads -5 as a number, not a formula)."""
    if value is None:
        return ""
    if value.__class__ is str and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


ROWS_PER_CHUNK = 500


def raw_rows(queryset: QuerySet[Any], *, batch: int = 2000) -> Iterator[tuple[Any, ...]]:
    """A ``values_list`` queryset's rows as the database driver returns them.

    Django converts each value after the driver has (on SQLite a time is parsed from its text,
    made aware, and then written back out as text by the export); at a hundred thousand rows
    those conversions were half the export. The SQL is Django's own; on PostgreSQL the rows
    come through a server-side cursor, so memory stays flat. Times come back as the driver has
    them: turn them into text with ``iso_utc``.
    """
    sql, params = queryset.query.sql_with_params()
    connection = connections[queryset.db]
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield from rows


def as_text(field: str) -> Cast:
    """A time column read as the database's own text (see ``iso_utc``): parsing a hundred
    thousand times into datetimes in Python only to write them out again was a third of the
    export on PostgreSQL, whose driver parses times in Python under Django."""
    return Cast(field, output_field=TextField())


def iso_utc(value: Any) -> str:
    """A stored time as ISO 8601 in UTC, exactly as ``datetime.isoformat`` writes an aware UTC
    time, from whatever the driver gave: the database's text (``2026-11-27 12:00:00.123456``
    from SQLite; ``2026-11-27 12:00:00.12345+00`` from PostgreSQL, whose session zone Django
    sets to UTC), an aware datetime, or a naive UTC one."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value.replace(" ", "T", 1).removesuffix("+00:00").removesuffix("+00")
        head, dot, fraction = text.partition(".")
        # PostgreSQL drops a fraction's trailing zeros (.39816); isoformat keeps six digits.
        return (f"{head}.{fraction.ljust(6, '0')}" if dot else head) + "+00:00"
    if value.tzinfo is None:  # SQLite's driver parses Django's text into a naive UTC time
        return f"{value.isoformat()}+00:00"
    return str(value.isoformat())


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV in chunks of a few hundred lines, so a large export streams in constant memory.

    A line per chunk cost more than the rows themselves: every chunk is one trip through the
    WSGI server (and, under gunicorn, one socket write).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(list(header))
    yield take()
    pending = 0
    for row in rows:
        writer.writerow(list(map(neutralise, row)))
        pending += 1
        if pending == ROWS_PER_CHUNK:
            pending = 0
            yield take()
    if pending:
        yield take()


def finished(
    lines: Iterator[str], *, last_line: Callable[[str], str], on_end: Callable[[str, str], None]
) -> Iterator[str]:
    """Stream ``lines``; a failure midway ends the file with a visible line saying so.

    ``on_end(outcome, message)`` runs once: ``succeeded``, ``failed`` (an error) or
    ``stopped`` (the download was abandoned).
    """
    try:
        yield from lines
    except GeneratorExit:
        on_end("stopped", "The download was stopped before the end.")
        raise
    except Exception:  # noqa: BLE001  (a streamed file has sent its headers: whatever broke,
        # the file must end with a line saying it is incomplete, and the error is logged)
        log.exception("an export failed midway")
        message = "The export stopped early because of an error; this file is incomplete."
        on_end("failed", message)
        yield last_line(message)
        return
    on_end("succeeded", "")


def csv_error_line(message: str) -> str:
    return f"# {message}\r\n"


def jsonl_error_line(message: str) -> str:
    import json

    return json.dumps({"error": message}) + "\n"
