"""`make bench`: run the five benchmarks and rewrite docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench import http_bench, worker_bench
from bench.common import ROOT
from bench.doc import previous_figures, save_figures, sections, was

TARGET_MS = 20.0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):  # noqa: SIM115
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def data(kind: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.data_bench", kind],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def data_figures(results: list[dict[str, Any]]) -> dict[str, float]:
    figures: dict[str, float] = {}
    for r in results:
        kind = r["kind"]
        for label, page in r["pages"].items():
            figures[f"{kind}.page.{label}"] = page["p50"]
        for name in ("export", "audit_export"):
            figures[f"{kind}.{name}.seconds"] = r[name]["seconds"]
            figures[f"{kind}.{name}.rss_growth_mb"] = r[name]["rss_growth_mb"]
    return figures


def describe_data(results: list[dict[str, Any]], previous: dict[str, float]) -> list[str]:
    lines = [
        "## 4. The console's own data: 100,000 runs and 1,000,000 audit events",
        "",
        "Server time (Django's test client in-process, production settings, the page rendered "
        f"completely), p50 and p95 over {25} requests, in milliseconds; the previous run's p50 "
        f"in brackets. Target: p50 ≤ {TARGET_MS:.0f} ms.",
        "",
        "| page | " + " | ".join(f"{r['kind']} p50 | {r['kind']} p95" for r in results) + " |",
        "|---|" + "---|---|" * len(results),
    ]
    labels = list(results[0]["pages"])
    for label in labels:
        cells = []
        for r in results:
            page = r["pages"][label]
            mark = "" if page["p50"] <= TARGET_MS else " ✗"
            before = was(previous, f"{r['kind']}.page.{label}")
            cells.append(f"{page['p50']:.1f}{mark}{before} | {page['p95']:.1f}")
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    worst = max(p["p50"] for r in results for p in r["pages"].values())
    lines += [
        "",
        f"Slowest p50: {worst:.1f} ms; target **{'met' if worst <= TARGET_MS else 'missed'}**"
        + ("" if worst <= TARGET_MS else f" by {worst - TARGET_MS:.1f} ms")
        + ".",
        "",
        "Exports, timed whole (the file read to its end through Django's handler), twice: the "
        "first read may find the database's pages on disk, the second finds them in memory; a "
        "third read, under tracemalloc, measures memory. The targets are judged on the second "
        "read; the first is shown beside it.",
        "",
        "| | " + " | ".join(r["kind"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]

    def cell(r: dict[str, Any], name: str, key: str, fmt: str) -> str:
        return fmt.format(r[name][key]) + (
            was(previous, f"{r['kind']}.{name}.{key}", fmt) if key != "rows" else ""
        )

    rows = {
        "`/runs/export.csv` rows": lambda r: f"{r['export']['rows']:,}",
        "runs export, first read (s)": lambda r: f"{r['export']['first_seconds']:.2f}",
        "runs export, read again (s)": lambda r: cell(r, "export", "seconds", "{:.2f}"),
        "runs export (rows/s)": lambda r: f"{r['export']['rows_per_second']:,.0f}",
        "runs export RSS growth (MB)": lambda r: cell(r, "export", "rss_growth_mb", "{:.1f}"),
        "runs export peak traced (MB)": lambda r: f"{r['export']['peak_traced_mb']:.1f}",
        "`/audit/export.jsonl` events": lambda r: f"{r['audit_export']['rows']:,}",
        "audit export, first read (s)": lambda r: f"{r['audit_export']['first_seconds']:.1f}",
        "audit export, read again (s)": lambda r: cell(r, "audit_export", "seconds", "{:.1f}"),
        "audit export (events/s)": lambda r: f"{r['audit_export']['rows_per_second']:,.0f}",
        "audit export RSS growth (MB)": lambda r: cell(
            r, "audit_export", "rss_growth_mb", "{:.1f}"
        ),
        "audit export peak traced (MB)": lambda r: f"{r['audit_export']['peak_traced_mb']:.1f}",
        "streamed": lambda r: "yes" if r["export"]["streaming"] else "no",
        "10,000 audit appends from 4 workers (events/s)": lambda r: (
            f"{r['appends']['per_second']:.0f}"
        ),
        "chain verifies afterwards": lambda r: (
            "yes" if r["appends"]["verified"] else f"NO: {r['appends']['verify_output']}"
        ),
        "data build (s, first run only)": lambda r: (
            f"{r['build_seconds']:.0f}" + ("" if r["built"] else " (cached)")
        ),
    }
    for label, render in rows.items():
        lines.append(f"| {label} | " + " | ".join(render(r) for r in results) + " |")
    runs_worst = max(r["export"]["seconds"] for r in results)
    audit_worst = max(r["audit_export"]["seconds"] for r in results)
    growth = max(
        max(r["export"]["rss_growth_mb"], r["audit_export"]["rss_growth_mb"]) for r in results
    )
    lines += [
        "",
        f"Runs export ≤ 2 s for 100,000 rows: **{'met' if runs_worst <= 2 else 'missed'}** "
        f"(slowest {runs_worst:.2f} s). Audit export ≤ 20 s for 1,000,000 events: "
        f"**{'met' if audit_worst <= 20 else 'missed'}** (slowest {audit_worst:.1f} s). "
        f"Memory flat (≤ 50 MB growth): **{'met' if growth <= 50 else 'missed'}** "
        f"(largest {growth:.1f} MB). The runs-export times before 2026-11-27 16:00 were taken "
        "with tracemalloc running, which slowed them several times over.",
        "",
    ]
    return lines


def main() -> int:
    started = time.monotonic()
    previous = previous_figures()
    http = http_bench.run()
    kinds = ["sqlite", "postgres"]
    data_results = [data(k) for k in kinds]
    worker = worker_bench.run()
    took = time.monotonic() - started
    doc = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {took / 60:.1f} "
        "minutes.",
        "",
        f"Machine: {machine()}. The console, the sandbox, the load generator and the databases "
        "share it, so absolute numbers are modest and noisy; each comparison was measured side by "
        "side in the same run. Rerun with `make bench` (the first run also builds the cached data "
        "under `var/bench/`).",
        "",
        *http_bench.describe(http, previous),
        "",
        *describe_data(data_results, previous),
        *http_bench.describe_weight(http),
        *worker_bench.describe(worker),
        "## How the server is set up, and why",
        "",
        f"`{http['gunicorn']}` — two processes (one per core) with eight threads each: pages "
        "spend most of their time waiting on Dr.Gero, so threads keep the cores busy while calls "
        "are out, and the worker timeout outlasts the client's whole budget for one call.",
        "",
    ]
    save_figures({**http_bench.figures(http), **data_figures(data_results)})
    kept = sections()  # `make fuzz` and `make chaos` write their own sections
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(doc) + "\n" + "\n".join(kept.values()))
    print("\n".join(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
