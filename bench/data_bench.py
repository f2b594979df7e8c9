"""Benchmark 4: the console's own data at scale, on SQLite or PostgreSQL.

``python -m bench.data_bench sqlite|postgres`` prints one JSON object. The data (100,000 runs,
1,000,000 chained audit events) is generated once and cached: a SQLite file under var/bench/,
or the PostgreSQL database ``console_bench`` with a stamp file under var/bench/.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from typing import Any

from bench.common import BENCH_DIR, ROOT, manage, pct, production_env

RUNS, EVENTS = 100_000, 1_000_000
APPENDS, WORKERS = 10_000, 4
REPS = 25


def database_url(kind: str, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{BENCH_DIR / (name + '.sqlite3')}"
    return os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/") + name


def fresh(kind: str, name: str) -> None:
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (BENCH_DIR / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
        return
    admin = database_url(kind, "postgres")
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", admin, "-qc", sql], check=True, capture_output=True)


def ensure_data(kind: str) -> dict[str, Any]:
    stamp = BENCH_DIR / f"data-{kind}.stamp"
    env = production_env(database_url(kind, "console_bench"))
    env["CONSOLE_VAR_DIR"] = str(BENCH_DIR / f"head-{kind}")
    if stamp.exists():
        manage(env, "migrate", "--noinput")  # new indexes reach the cached data too
        return {"built": False, "build_seconds": json.loads(stamp.read_text())["seconds"]}
    fresh(kind, "console_bench")
    started = time.monotonic()
    manage(env, "migrate", "--noinput")
    manage(env, "bench_data", "--runs", str(RUNS), "--events", str(EVENTS))
    if kind == "postgres":
        subprocess.run(
            ["psql", database_url(kind, "console_bench"), "-qc", "ANALYZE"],
            check=True,
            capture_output=True,
        )
    seconds = time.monotonic() - started
    stamp.write_text(json.dumps({"seconds": seconds}))
    return {"built": True, "build_seconds": seconds}


def _append_worker(args: tuple[str, int]) -> None:
    kind, count = args
    import django

    django.setup()
    from console.services.audit import Actor, Target, audit_record

    for n in range(count):
        audit_record(
            actor=Actor(1, "bench"),
            action="run.sync",
            outcome="succeeded",
            target=Target("model", f"m{n % 50}", "Bench"),
        )


def measure(kind: str) -> dict[str, Any]:
    """Runs inside a process whose settings point at the cached database."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from console.models import AuditEvent, RunRecord

    user = get_user_model().objects.get(username="member03")
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(user)
    since = RunRecord.objects.order_by("-created_at").first().created_at - timedelta(days=60)
    day = since.date().isoformat()
    pages = {
        "/runs/?status=failed (newest first)": "/runs/?status=failed",
        "/runs/?model=…&sort=longest": "/runs/?model=bench-model-007&sort=longest",
        "/runs/?started_by=member04&origin=console": "/runs/?started_by=member04&origin=console",
        "/runs/ second page": None,
        "/audit/?outcome=failed": "/audit/?outcome=failed",
        "/audit/?actor=member04&action=run": "/audit/?actor=member04&action=run",
        "/audit/?model=…&since=…": f"/audit/?model=bench-model-011&since={day}",
    }
    first = client.get("/runs/", secure=True).content.decode()
    cursor = first.split("after=")[1].split('"')[0].split("&")[0]
    pages["/runs/ second page"] = f"/runs/?after={cursor}"
    timings = {}
    for label, path in pages.items():
        samples = []
        for _ in range(REPS):
            started = time.perf_counter()
            response = client.get(path, secure=True)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        timings[label] = {"p50": pct(samples, 50), "p95": pct(samples, 95)}

    return {
        "pages": timings,
        "export": export(client, "/runs/export.csv"),
        "audit_export": export(client, "/audit/export.jsonl"),
        "counts": {"runs": RunRecord.objects.count(), "events": AuditEvent.objects.count()},
    }


def export(client: Any, path: str) -> dict[str, Any]:
    """An export read to its end three times: first as it comes (the database's pages may not
    be in memory yet), then again (they are), then under tracemalloc for its memory, which
    slows Python down several times over and so is never timed. RSS growth covers all three
    (it is a high-water mark)."""

    def read() -> tuple[int, float, Any]:
        started = time.perf_counter()
        response = client.get(path, secure=True)
        lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
        return lines, time.perf_counter() - started, response

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lines, first, response = read()
    _, again, _ = read()
    tracemalloc.start()
    read()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    rows = lines - 1 if path.endswith(".csv") else lines
    return {
        "rows": rows,
        "first_seconds": first,
        "seconds": again,
        "rows_per_second": rows / again,
        "streaming": response.streaming,
        "peak_traced_mb": peak / 1e6,
        "rss_growth_mb": rss_growth / 1024,
    }


def appends(kind: str) -> dict[str, Any]:
    fresh(kind, "console_bench_append")
    env = production_env(database_url(kind, "console_bench_append"))
    env["CONSOLE_VAR_DIR"] = str(BENCH_DIR / f"append-{kind}")
    shutil.rmtree(env["CONSOLE_VAR_DIR"], ignore_errors=True)  # the head of an earlier run
    manage(env, "migrate", "--noinput")
    os.environ.update(env)
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        pool.map(_append_worker, [(kind, APPENDS // WORKERS)] * WORKERS)
    seconds = time.monotonic() - started
    verified = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return {
        "events": APPENDS,
        "workers": WORKERS,
        "seconds": seconds,
        "per_second": APPENDS / seconds,
        "verified": verified.returncode == 0,
        "verify_output": (verified.stdout + verified.stderr).strip(),
    }


def main(kind: str) -> None:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    data = ensure_data(kind)
    env = production_env(database_url(kind, "console_bench"))
    env["CONSOLE_VAR_DIR"] = str(BENCH_DIR / f"head-{kind}")
    env["CONSOLE_SSL_REDIRECT"] = "0"
    # Each request renders its page from the 100,000 runs, as the first one after a change
    # does: kept fragments (console/fragments.py) would make the second request a copy.
    env["CONSOLE_FRAGMENTS"] = "0"
    child = subprocess.run(
        [sys.executable, "-m", "bench.data_bench", kind, "--measure"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if child.returncode != 0:
        raise RuntimeError(child.stderr[-3000:])
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    result = {"kind": kind, **data, **measured, "appends": appends(kind)}
    print(json.dumps(result))


if __name__ == "__main__":
    if "--measure" in sys.argv:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings.production")
        print(json.dumps(measure(sys.argv[1])))
    else:
        main(sys.argv[1])
