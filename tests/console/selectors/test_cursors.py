"""Page cursors are opaque, signed and bound to the order they were made for."""

from __future__ import annotations

from datetime import UTC, datetime

from console.selectors.cursors import cursor_make, cursor_read


def test_a_cursor_reads_back_what_it_was_made_of() -> None:
    moment = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    for value in (moment, 42, "succeeded", None):
        assert cursor_read("newest", cursor_make("newest", value, 7)) == (value, 7)


def test_a_cursor_from_another_order_reads_as_none() -> None:
    assert cursor_read("longest", cursor_make("newest", 5, 7)) is None


def test_an_edited_or_made_up_cursor_reads_as_none() -> None:
    made = cursor_make("audit", 70, 70)
    edited = made[:-2] + ("A" if made[-2] != "A" else "B") + made[-1]
    for text in (edited, "", "71", "a:b:c", "x" * 500, "\x00"):
        assert cursor_read("audit", text) is None
