"""Streamed CSV for exports, with spreadsheet-formula cells neutralised."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)


def neutralise(value: Any) -> str:
    """A cell a spreadsheet would run as a formula (= + - @ tab CR) is made plain text."""
    text = "" if value is None else str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


ROWS_PER_CHUNK = 500


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
        writer.writerow([neutralise(cell) for cell in row])
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
    except Exception:
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
