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
from bench.doc import sections

TARGET_MS = 50.0


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


def describe_data(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## 4. The console's own data: 100,000 runs and 1,000,000 audit events",
        "",
        "Server time (Django's test client in-process, production settings, the page rendered "
        f"completely), p50 and p95 over {25} requests, in milliseconds. Target: p50 ≤ 50 ms.",
        "",
        "| page | " + " | ".join(f"{r['kind']} p50 | {r['kind']} p95" for r in results) + " |",
        "|---|" + "---|---|" * len(results),
    ]
    labels = list(results[0]["pages"])
    for label in labels:
        cells = []
        for r in results:
            page = r["pages"].get(label) or next(
                v for k, v in r["pages"].items() if k.split("?")[0] == label.split("?")[0]
            )
            mark = "" if page["p50"] <= TARGET_MS else " ✗"
            cells.append(f"{page['p50']:.1f}{mark} | {page['p95']:.1f}")
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    worst = max(p["p50"] for r in results for p in r["pages"].values())
    lines += [
        "",
        f"Slowest p50: {worst:.1f} ms; target **{'met' if worst <= TARGET_MS else 'missed'}**"
        + ("" if worst <= TARGET_MS else f" by {worst - TARGET_MS:.1f} ms")
        + ".",
        "",
    ]
    lines += [
        "| | " + " | ".join(r["kind"] for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    rows = {
        "`/runs/export.csv` rows": lambda r: f"{r['export']['rows']:,}",
        "export time (s)": lambda r: f"{r['export']['seconds']:.1f}",
        "streamed": lambda r: "yes" if r["export"]["streaming"] else "no",
        "export peak traced memory (MB)": lambda r: f"{r['export']['peak_traced_mb']:.1f}",
        "export RSS growth (MB)": lambda r: f"{r['export']['rss_growth_mb']:.1f}",
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
    for label, cell in rows.items():
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    growth = max(r["export"]["rss_growth_mb"] for r in results)
    lines += [
        "",
        f"Export memory target ≤ 50 MB growth: **{'met' if growth <= 50 else 'missed'}** "
        f"(largest RSS growth {growth:.1f} MB).",
        "",
    ]
    return lines


def main() -> int:
    started = time.monotonic()
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
        *http_bench.describe(http),
        "",
        *describe_data(data_results),
        *http_bench.describe_weight(http),
        *worker_bench.describe(worker),
        "## How the server is set up, and why",
        "",
        f"`{http['gunicorn']}` — two processes (one per core) with eight threads each: pages "
        "spend most of their time waiting on Dr.Gero, so threads keep the cores busy while calls "
        "are out, and the worker timeout outlasts the client's whole budget for one call.",
        "",
    ]
    kept = sections()  # `make fuzz` and `make chaos` write their own sections
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(doc) + "\n" + "\n".join(kept.values()))
    print("\n".join(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
