"""`make chaos`: the chaos run with 1,000 operations; its figures go into docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

from bench.common import BENCH_DIR, pytest_run
from bench.doc import replace_section

OPS = 1000


def main() -> int:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    report = BENCH_DIR / "chaos.json"
    report.unlink(missing_ok=True)
    env = {
        **os.environ,
        "CHAOS_OPS": str(OPS),
        "CHAOS_REPORT": str(report),
        "CONSOLE_VAR_DIR": str(BENCH_DIR / "chaos-var"),  # apart from `make test`'s files
    }
    out = pytest_run(["tests/console/test_chaos.py"], env)
    if out.returncode != 0 or not report.exists():
        replace_section("chaos", ["## Chaos run (`make chaos`)", "", "**FAILED**: see its output."])
        return out.returncode or 1
    r = json.loads(report.read_text())
    statuses = ", ".join(f"{k}: {v:,}" for k, v in r["statuses"].items())
    writes = ", ".join(f"{k} {v}" for k, v in sorted(r["writes_seen"].items()))
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["audit_outcomes"].items()))
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["ops_by_kind"].items()))
    lines = [
        "## Chaos run (`make chaos`)",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: **passed**. {r['ops']:,} mixed "
        f"operations by four members in {r['seconds']:.0f} s, {r['faulted']} of them with a "
        "fault armed in the sandbox (each documented status, answers past the page's deadline, "
        "dropped connections, bodies that are not JSON). `make test` runs 120.",
        "",
        f"- Operations: {kinds}.",
        f"- Answers: {statuses} (no 500, no error logged).",
        f"- Writes Dr.Gero saw: {writes}; each has its audit event.",
        f"- Audit outcomes: {outcomes}; `verify_audit` passes with the recorded head.",
        f"- {r['intents']} create intents, none of which made a model twice.",
        "",
    ]
    replace_section("chaos", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
