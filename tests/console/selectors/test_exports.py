"""Export times come out exactly as ``datetime.isoformat`` writes them, whatever the driver gave."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.selectors.exports import iso_utc


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 27, 16, 43, 56, 398160, tzinfo=UTC),
        datetime(2026, 11, 27, 16, 43, 56, 100000, tzinfo=UTC),
        datetime(2026, 11, 27, 16, 43, 56, 123456, tzinfo=UTC),
        datetime(2026, 11, 27, 16, 43, 56, tzinfo=UTC),
    ],
)
def test_every_form_of_a_stored_time_gives_isoformat(moment: datetime) -> None:
    expected = moment.isoformat()
    sqlite_text = str(moment.replace(tzinfo=None))  # how Django stores it in SQLite
    postgres_text = (
        sqlite_text.rstrip("0").rstrip(".") + "+00" if moment.microsecond else (sqlite_text + "+00")
    )  # PostgreSQL's timestamptz::text in UTC drops a fraction's trailing zeros
    assert iso_utc(sqlite_text) == expected
    assert iso_utc(postgres_text) == expected
    assert iso_utc(moment) == expected
    assert iso_utc(moment.replace(tzinfo=None)) == expected
    assert iso_utc(None) == "" and iso_utc("") == ""
