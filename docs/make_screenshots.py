"""`make screenshots`: drive Chromium through the demo and write PNGs to docs/screenshots/."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    port, sandbox_port = free_port(), free_port()
    env = {
        **os.environ,
        "CONSOLE_VAR_DIR": tempfile.mkdtemp(prefix="console-shots-"),
        "PORT": str(port),
        "SANDBOX_PORT": str(sandbox_port),
        "DJANGO_SETTINGS_MODULE": "console.settings.demo",
    }
    env.pop("DRGERO_API_BASE", None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "console_run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310 (loopback)
                break
            except OSError:
                time.sleep(0.2)
        sync(env)
        shoot(base, f"http://127.0.0.1:{sandbox_port}", lambda: sync(env))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


def sync(env: dict[str, str]) -> None:
    """One discovery sweep now (`manage.py sync_runs`), so the pages hold the sandbox's runs."""
    subprocess.run(
        [sys.executable, "manage.py", "sync_runs"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def control(sandbox: str, action: str, body: dict[str, object]) -> None:
    """The sandbox's control API (loopback only): its clock, the next run's outcome."""
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{sandbox}/__sandbox__/{action}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 (loopback)


def shoot(base: str, sandbox: str, sync_runs: Callable[[], None]) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, base_url=base)

        def snap(name: str) -> None:
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
            print(f"docs/screenshots/{name}.png")

        page.goto("/login/")
        page.get_by_label("Username").fill("demo")
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto("/models/")
        snap("models-list")
        page.get_by_role("link", name="Support Assistant").click()
        page.wait_for_url("**/models/*/")
        snap("model-detail")
        model_url = page.url
        page.goto("/runs/")
        snap("run-history")
        page.goto("/models/")
        page.get_by_role("link", name="Refund Drafts").click()
        page.wait_for_url("**/models/*/")
        refund_url = page.url
        page.goto(refund_url + "runs/new/")
        page.get_by_label("Rows", exact=True).fill("1000")
        page.get_by_role("button", name="Review").click()
        page.locator(".confirm").wait_for()
        page.get_by_label("Why are you starting this run? (optional)").fill(
            "Refund tickets doubled since Monday; the drafts should know the new policy."
        )
        snap("start-run-confirmation")
        # The run fails, as runs do: its page says why and what to try next, and the inbox
        # tells the member who started it.
        control(sandbox, "next-outcome", {"outcome": "FAILED", "error": "CUDA out of memory."})
        page.get_by_role("button", name="Start the run").click()
        page.wait_for_url("**/runs/*/#run-status")
        control(sandbox, "clock", {"advance": 7200})
        sync_runs()
        page.goto(page.url.split("#")[0])
        page.locator("#run-live .status--failed").wait_for()
        snap("run-page")
        # A second run of it, which ends while the member is elsewhere: unread in the inbox.
        page.goto(refund_url + "runs/new/")
        page.get_by_role("button", name="Review").click()
        page.get_by_role("button", name="Start the run").click()
        page.wait_for_url("**/runs/*/#run-status")
        page.goto("/inbox/")
        control(sandbox, "clock", {"advance": 7200})
        sync_runs()
        page.reload()
        snap("inbox")
        page.goto(model_url + "schedule/")
        snap("schedule-editor")
        page.goto("/account/token/")
        page.get_by_label("Dr.Gero API token").fill("drgero_sandbox_freeplan")
        page.get_by_role("button", name="Check and save").click()
        page.get_by_text("Your Dr.Gero token was checked and saved.").wait_for()
        page.goto("/models/")
        page.get_by_role("link", name="Weekend Experiment").click()
        page.wait_for_url("**/models/*/")
        page.goto(page.url + "schedule/")
        page.get_by_label("On — Dr.Gero fine-tunes this model on a schedule").check()
        page.get_by_label("Weekly — Fine-tune once a week.").check()
        page.get_by_role("button", name="Review the change").click()
        page.get_by_role("button", name="Save the schedule").click()
        page.locator("#problem").wait_for()
        snap("schedule-plan-refusal")
        page.goto("/audit/?action=schedule")
        page.locator("#audit-results details summary").first.click()
        snap("audit-log")
        page.goto("/team/")
        snap("team")
        # Dark mode, as the system asks for it; and a phone, 390 px wide.
        page.emulate_media(color_scheme="dark")
        page.goto("/runs/")
        snap("run-history-dark")
        page.goto(model_url)
        snap("model-detail-dark")
        page.emulate_media(color_scheme="light")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/runs/")
        snap("run-history-phone")
        page.goto("/models/")
        snap("models-list-phone")
        page.emulate_media(color_scheme="dark")
        page.goto(model_url)
        snap("model-detail-phone-dark")
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
