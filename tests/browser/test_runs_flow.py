"""In Chromium: start a run and watch it go from queued to running to done without reloading."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import log_in, member, until

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
    page.get_by_label("Why are you starting this run? (optional)").fill("Tickets doubled")
    start = page.get_by_role("button", name="Start the run")
    start.click()
    # The view and the focus go to the new run: its own page, its status.
    page.wait_for_url(re.compile(r"/runs/[^/]+/#run-status$"))
    until(page, "document.activeElement && document.activeElement.id === 'run-status'")
    live = page.locator("#run-live")
    assert "Queued" in live.inner_text() and "Tickets doubled" in live.inner_text()
    assert page.locator(".live-note").is_visible()

    sandbox.state.clock.advance(25)
    page.locator("#run-live .status--running").wait_for()
    sandbox.state.clock.advance(300)
    page.locator("#run-live .status--succeeded").wait_for()
    page.locator(".live-note").wait_for(state="detached")
    page.goto(f"/models/{model_id}/runs/")
    table = page.locator("#runs-table")
    assert "op" in table.inner_text() and "“Tickets doubled”" in table.inner_text()
    assert sandbox.state.count("POST", r"/api/models/.*/fine-tune/run") == 1
    assert page.console_errors == []


def start_then_leave(page: Any, sandbox: SandboxServer, settings: Any, name: str) -> None:
    """An Operator starts a run of a new model ``name``, then leaves its page for another."""
    settings.CONSOLE_NOTICE_POLL_SECONDS = 1
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name=name)["id"]
    log_in(page, "op")
    page.goto(f"/models/{model_id}/runs/new/")
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/#run-status$"))
    page.goto("/base-models/")  # leave the run's page


def test_the_notice_of_a_run_end_arrives_on_another_page(
    page: Any, sandbox: SandboxServer, settings: Any, worker: Any
) -> None:
    start_then_leave(page, sandbox, settings, "Noticed Model")
    title = page.title()
    sandbox.state.clock.advance(7200)
    toast = page.locator("#toasts .toast", has_text="Noticed Model succeeded")
    toast.wait_for(timeout=15_000)
    assert page.title() == f"Noticed Model: run succeeded · {title}"
    assert page.locator("#inbox-count").inner_text() == "1"  # the header's count follows
    toast.wait_for(state="detached", timeout=12_000)  # seen in a visible tab: it goes
    assert page.console_errors == []


def test_a_run_end_that_arrives_in_a_hidden_tab_waits_to_be_dismissed(
    page: Any, sandbox: SandboxServer, settings: Any, worker: Any
) -> None:
    start_then_leave(page, sandbox, settings, "Hidden Model")
    # The tab goes to the background, as when someone switches to another tab.
    page.evaluate(
        "() => Object.defineProperty(document, 'hidden', {value: true, configurable: true})"
    )
    sandbox.state.clock.advance(7200)
    toast = page.locator("#toasts .toast", has_text="Hidden Model succeeded")
    toast.wait_for(timeout=15_000)
    page.wait_for_timeout(9_000)  # longer than a toast in a visible tab lasts
    assert toast.is_visible()
    toast.get_by_role("button", name="Dismiss").click()
    toast.wait_for(state="detached")
    assert page.console_errors == []
