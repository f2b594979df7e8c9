"""`make fuzz`: the property-based tests with 10,000 examples per target; the counts go into
docs/benchmarks.md."""

from __future__ import annotations

import os
import re
import sys
import time
from datetime import UTC, datetime

from bench.common import BENCH_DIR, pytest_run
from bench.doc import replace_section

LINE = re.compile(
    r"test_requests\.py::(?P<test>\w+):.*?"
    r"(?P<passing>\d+) passing, (?P<failing>\d+) failing, and (?P<invalid>\d+) invalid",
    re.S,
)


def table(output: str) -> list[tuple[str, int, int, int]]:
    """(target, passing, failing, invalid) from pytest's ``--hypothesis-show-statistics``."""
    blocks = output.split("tests/console/properties/")[1:]
    rows = []
    for block in blocks:
        if m := LINE.search("tests/console/properties/" + block):
            rows.append((m["test"], int(m["passing"]), int(m["failing"]), int(m["invalid"])))
    return rows


def main() -> int:
    # A var directory of its own, so `make test` can run meanwhile without sharing its files.
    var = BENCH_DIR / "fuzz-var"
    env = {**os.environ, "HYPOTHESIS_PROFILE": "fuzz", "CONSOLE_VAR_DIR": str(var)}
    started = time.monotonic()
    out = pytest_run(["--hypothesis-show-statistics", "tests/console/properties"], env)
    took = time.monotonic() - started
    describe(table(out.stdout), took, passed=out.returncode == 0)
    return out.returncode


def describe(rows: list[tuple[str, int, int, int]], took: float, *, passed: bool) -> None:
    """Write the section of docs/benchmarks.md."""
    verdict = "passed" if passed else "FAILED (see `make fuzz`'s output)"
    lines = [
        "## Property-based tests (`make fuzz`)",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {took / 60:.1f} minutes: "
        f"**{verdict}**. Every list page's and export's query string and every form, with "
        "dates at the extremes, huge and negative numbers, unicode digits, NUL and control "
        "characters, markup, repeated parameters and random cursors. The property: never a "
        "500, never an error in the log, never a change upstream on a refused input. "
        "`make test` runs the same targets with 40 examples each.",
        "",
        "| target | passing examples | failing | invalid |",
        "|---|---|---|---|",
        *(f"| `{t}` | {p:,} | {f} | {i} |" for t, p, f, i in rows),
        "",
        "Invalid examples are ones Hypothesis discarded while drawing them (for instance a "
        "dictionary of fields that could not be given distinct keys); they test nothing.",
        "",
    ]
    replace_section("fuzz", lines)


if __name__ == "__main__":
    sys.exit(main())
