"""The worker: how fast a fresh console fills, how soon outside runs and run ends show, and how
many Dr.Gero calls it makes per minute with browsers open and two workers running.

It runs what `make run` runs (`manage.py console_run`: the demo sandbox in-process, the worker,
the console) in a fresh var directory, adds a second worker with `run_huey --no-periodic`, and
reads the mirror straight from its SQLite file (the file every page reads).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import PYTHON, ROOT, Browser, free_port, wait_http

TOKEN = "drgero_sandbox_full"  # noqa: S105  (the sandbox's documented demo token)
IDLE_SECONDS = 30  # the discovery interval for this run (the default is 120)
ACTIVE_SECONDS = 15  # the default
WINDOW = 60.0
FINAL = ("succeeded", "failed", "cancelled")


class Sandbox:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body: Any = None, auth: bool = True) -> Any:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {TOKEN}"
        self.conn.request(
            method, path, body=json.dumps(body) if body is not None else None, headers=headers
        )
        response = self.conn.getresponse()
        data = response.read()
        return json.loads(data) if data else None

    def models(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", f"/api/models?limit=50&offset={len(found)}")["models"]
            found += page
            if len(page) < 50:
                return found

    def run_ids(self) -> set[str]:
        ids = set()
        for model in self.models():
            body = self.call("GET", f"/api/models/{model['id']}/fine-tune/runs")
            ids |= {r["id"] for r in body["runs"]}
        return ids

    def requests(self) -> list[dict[str, str]]:
        return self.call("GET", "/__sandbox__/requests", auth=False)["requests"]

    def forget_requests(self) -> None:
        self.call("DELETE", "/__sandbox__/requests", auth=False)


def until(check: Callable[[], Any], timeout: float = 300) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for the worker")


def start_run(sandbox: Sandbox, model_id: str) -> str:
    body = {
        "dataset_size": {"mode": "LIMIT", "limit": {"auto": True, "algorithm": "LAST_N"}},
        "create_synthetic_data": False,
        "hypertuning_enabled": False,
    }
    run = sandbox.call("POST", f"/api/models/{model_id}/fine-tune/run", body)
    return run.get("id") or run["run"]["id"]


def poll_pages(port: int, stop: threading.Event) -> None:
    """One open browser: the history table's poll every 5 s and the layout's notices poll."""
    browser = Browser(port)
    browser.log_in("demo", "demo")
    htmx = {"HX-Request": "true", "HX-Target": "runs-table"}
    tick = 0
    while not stop.is_set():
        browser.request("GET", "/runs/?poll=1", headers=htmx)
        if tick % 4 == 0:
            browser.request("GET", "/notices/", headers={"HX-Request": "true"})
        tick += 1
        stop.wait(5)


def calls_per_minute(sandbox: Sandbox) -> dict[str, float]:
    sandbox.forget_requests()
    time.sleep(WINDOW)
    kinds: Counter[str] = Counter()
    for request in sandbox.requests():
        path = request["path"]
        if path.endswith("/fine-tune/runs"):
            kinds["list runs"] += 1
        elif path == "/api/models":
            kinds["list models"] += 1
        else:
            kinds["other"] += 1
    scale = 60.0 / WINDOW
    return {k: v * scale for k, v in {**kinds, "total": sum(kinds.values())}.items()}


def run() -> dict[str, Any]:
    var = Path(tempfile.mkdtemp(prefix="bench-worker-"))
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSOLE_"))}
    env.pop("DRGERO_API_BASE", None)
    env.pop("REDIS_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "console.settings.demo",
            "CONSOLE_VAR_DIR": str(var),
            "PORT": str(port),
            "SANDBOX_PORT": str(sandbox_port),
            "CONSOLE_SYNC_IDLE_SECONDS": str(IDLE_SECONDS),
            "CONSOLE_SYNC_ACTIVE_SECONDS": str(ACTIVE_SECONDS),
            "LOG_LEVEL": "WARNING",
        }
    )
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    console = subprocess.Popen(  # noqa: S603
        [PYTHON, "manage.py", "console_run"], cwd=ROOT, env=env, start_new_session=True, **quiet
    )
    second = None
    stop = threading.Event()
    try:
        wait_http(port, timeout=120)
        serving = time.monotonic()
        sandbox = Sandbox(sandbox_port)
        expected = sandbox.run_ids()
        db = sqlite3.connect(var / "console.sqlite3", timeout=30)

        def mirrored() -> set[str]:
            return {r[0] for r in db.execute("SELECT run_id FROM console_runrecord")}

        until(lambda: mirrored() >= expected)
        fill = time.monotonic() - serving

        def category(run_id: str) -> str:
            row = db.execute(
                "SELECT category FROM console_runrecord WHERE run_id = ?", (run_id,)
            ).fetchone()
            return row[0] if row else ""

        active_models = {
            r[0]
            for r in db.execute(
                "SELECT model_id FROM console_runrecord WHERE category IN ('queued', 'running')"
            )
        }
        idle_model = next(m["id"] for m in sandbox.models() if m["id"] not in active_models)
        outside = start_run(sandbox, idle_model)
        appear = until(lambda: category(outside) != "")
        sandbox.call("POST", "/__sandbox__/clock", {"advance": 7200}, auth=False)
        ended = until(lambda: category(outside) in FINAL)

        second = subprocess.Popen(  # noqa: S603
            [PYTHON, "manage.py", "run_huey", "--no-periodic"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            **quiet,
        )
        browsers = [
            threading.Thread(target=poll_pages, args=(port, stop), daemon=True) for _ in range(3)
        ]
        for browser in browsers:
            browser.start()
        models = len(sandbox.models())
        rates = [{"models": models, "state": "idle", **calls_per_minute(sandbox)}]
        start_run(sandbox, idle_model)  # queued 20 s, then running 120 s: active all window
        rates.append({"models": models, "state": "one active run", **calls_per_minute(sandbox)})
        for n in range(50):
            sandbox.call("POST", "/api/models", {"name": f"Bench model {n}", "leaderboard_ids": []})
        sandbox.call("POST", "/__sandbox__/clock", {"advance": 7200}, auth=False)
        time.sleep(IDLE_SECONDS + 5)  # one discovery sweep learns the new models
        models = len(sandbox.models())
        rates.append({"models": models, "state": "idle", **calls_per_minute(sandbox)})
        return {
            "fill_seconds": fill,
            "runs": len(expected),
            "appear_seconds": appear,
            "end_seconds": ended,
            "rates": rates,
        }
    finally:
        stop.set()
        for proc in (second, console):
            if proc is not None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


def describe(r: dict[str, Any]) -> list[str]:
    fill_ok = r["fill_seconds"] <= 15
    appear_target = IDLE_SECONDS + 5
    lines = [
        "## 6. The worker: a history that keeps itself current",
        "",
        "`manage.py console_run` (what `make run` starts: the demo sandbox, one worker, the "
        f"console) in a fresh var directory, with the discovery sweep every {IDLE_SECONDS} s "
        f"(the default is 120 s) and the active sweep every {ACTIVE_SECONDS} s (the default). "
        "Times are from the console answering until the mirror, which every page reads, holds "
        "the change.",
        "",
        "| measure | seconds | target |",
        "|---|---|---|",
        f"| fresh console to the history holding all {r['runs']} sandbox runs | "
        f"{r['fill_seconds']:.1f} | ≤ 15 s, **{'met' if fill_ok else 'missed'}** |",
        f"| a run started outside the console appears | {r['appear_seconds']:.1f} | "
        f"≤ one discovery interval + 5 s = {appear_target} s, "
        f"**{'met' if r['appear_seconds'] <= appear_target else 'missed'}** |",
        f"| that run's end shows | {r['end_seconds']:.1f} | ≤ 20 s while active, "
        f"**{'met' if r['end_seconds'] <= 20 else 'missed'}** |",
        "",
        "Dr.Gero calls per minute, measured over 60 s with two workers (one running the "
        "periodic scheduler, one `--no-periodic`) and three signed-in browsers polling the run "
        "history every 5 s and the notices every 20 s:",
        "",
        "| models | state | list models | list runs | other | total |",
        "|---|---|---|---|---|---|",
    ]
    for rate in r["rates"]:
        lines.append(
            f"| {rate['models']} | {rate['state']} | {rate.get('list models', 0):.0f} | "
            f"{rate.get('list runs', 0):.0f} | {rate.get('other', 0):.0f} | {rate['total']:.0f} |"
        )
    lines += [
        "",
        "The browsers add nothing: pages read the mirror. Idle, each discovery sweep makes one "
        "list-models call per page of 50 models and one list-runs call per model, so with the "
        "default interval of 120 s a team with N models costs about (N + 1) / 2 calls a "
        "minute; an active run adds four list-runs calls a minute for its model.",
        "",
    ]
    return lines


if __name__ == "__main__":
    result = run()
    print(json.dumps(result))
    print("\n".join(describe(result)))
