"""In Chromium: start a run and watch it go from queued to running to done without reloading."""

from __future__ import annotations

from typing import Any

import pytest

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import log_in, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_start_a_run_and_watch_it_finish(
    page: Any, sandbox: SandboxServer, settings: Any, worker: Any
) -> None:
    settings.CONSOLE_POLL_SECONDS = 1
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Watched Model")["id"]
    log_in(page, "op")
    page.goto(f"/models/{model_id}/runs/new/")
    page.get_by_label("Rows", exact=True).fill("1500")
    page.get_by_role("button", name="Review").click()
    question = page.locator(".confirm__question")
    question.wait_for()
    assert "the newest 1,500 rows" in question.inner_text()
    start = page.get_by_role("button", name="Start the run")
    start.click()
    page.wait_for_url(f"**/models/{model_id}/runs/")
    table = page.locator("#runs-table")
    assert "Queued" in table.inner_text()
    assert "op" in table.inner_text()
    assert page.locator(".live-note").is_visible()

    sandbox.state.clock.advance(25)
    page.locator("#runs-table .status--running").wait_for()
    sandbox.state.clock.advance(300)
    page.locator("#runs-table .status--succeeded").wait_for()
    page.locator(".live-note").wait_for(state="detached")
    assert sandbox.state.count("POST", r"/api/models/.*/fine-tune/run") == 1
    assert page.console_errors == []


def test_the_notice_of_a_run_end_arrives_on_another_page(
    page: Any, sandbox: SandboxServer, settings: Any, worker: Any
) -> None:
    settings.CONSOLE_NOTICE_POLL_SECONDS = 1
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Noticed Model")["id"]
    log_in(page, "op")
    page.goto(f"/models/{model_id}/runs/new/")
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(f"**/models/{model_id}/runs/")
    page.goto("/base-models/")  # leave the run's page
    title = page.title()
    sandbox.state.clock.advance(7200)
    toast = page.locator("#toasts .toast", has_text="Noticed Model succeeded")
    toast.wait_for(timeout=15_000)
    assert page.title() == f"(1) Run ended · {title}"
    assert page.console_errors == []
