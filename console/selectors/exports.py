"""Streamed CSV for exports, with spreadsheet-formula cells neutralised."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any


def neutralise(value: Any) -> str:
    """A cell a spreadsheet would run as a formula (= + - @ tab CR) is made plain text."""
    text = "" if value is None else str(value)
    if text and text[0] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """One CSV line at a time, so a large export streams in constant memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(list(header))
    yield take()
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        yield take()
