"""In Chromium: a run's page in every state passes axe and the CSP, updates itself while the
run is active and stops when it ends; run again goes through the confirmation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.models import RunRecord
from console.roles import Role
from console.services.runs import RunSettings, run_prepare, run_start
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import log_in, member
from tests.browser.test_every_page import Checker, axe_problems
from tests.console.worker import sweep

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTINGS = RunSettings(
    auto=False,
    rows=1200,
    algorithm="LAST_N",
    create_synthetic_data=False,
    hypertuning_enabled=True,
)


def start(sandbox: SandboxServer, user: Any, name: str) -> str:
    model_id = sandbox.state.add_model("ws_main", name=name)["id"]
    submission = run_prepare(user=user, model_id=model_id, model_name=name, settings=SETTINGS)
    assert run_start(user=user, submission_id=submission.pk).started
    submission.refresh_from_db()
    return submission.run_id


def test_the_run_page_in_every_state(page: Any, sandbox: SandboxServer, settings: Any) -> None:
    settings.CONSOLE_POLL_SECONDS = 1
    op = member("op", Role.OPERATOR, token="drgero_sandbox_full")
    check = Checker(page)
    log_in(page, "op")

    active = start(sandbox, op, "Live Model")
    page.goto(f"/runs/{active}/")
    check("run page, queued")
    assert page.locator(".live-note").is_visible()
    sandbox.state.clock.advance(30)
    sweep("active")
    page.locator("#run-live .status--running").wait_for()
    check("run page, running")
    sandbox.state.clock.advance(7200)
    sweep("active")
    page.locator("#run-live .status--succeeded").wait_for()
    page.locator(".live-note").wait_for(state="detached")
    check("run page, succeeded")

    sandbox.state.set_next_outcome("FAILED", "Out of memory on the training node.")
    failed = start(sandbox, op, "Failing Model")
    sandbox.state.clock.advance(7200)
    sweep("active")
    page.goto(f"/runs/{failed}/")
    assert "Out of memory on the training node." in page.inner_text("main")
    check("run page, failed")

    model_id = sandbox.state.add_model("ws_main", name="Unsure Model")["id"]
    sandbox.arm(r"/api/models/[^/]+/fine-tune/run", method="POST", kind="drop")
    sandbox.arm(r"/api/models/[^/]+/fine-tune/runs", method="GET", status=503, times=50)
    page.goto(f"/models/{model_id}/runs/new/")
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}/$"))
    assert "What to check" in page.inner_text("main")
    check("run page, unknown start")
    sandbox.state.clear_faults()

    page.goto(f"/runs/{active}/")
    page.get_by_role("link", name="Run again with these settings").click()
    assert page.get_by_label("Rows", exact=True).input_value() == "1200"
    page.get_by_role("button", name="Review").click()
    question = page.locator(".confirm__question")
    question.wait_for()
    assert "the newest 1,200 rows" in question.inner_text()
    page.get_by_role("button", name="Start the run").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/#run-status$"))
    assert RunRecord.objects.filter(model_name="Live Model").count() == 2
    assert check.problems == []


def test_a_poll_under_way_leaves_the_page_readable(
    page: Any, sandbox: SandboxServer, settings: Any
) -> None:
    """While the page's own poll is in flight its buttons keep their contrast (axe passes); a
    person's own request still dims the buttons it holds."""
    settings.CONSOLE_POLL_SECONDS = 1
    op = member("op", Role.OPERATOR, token="drgero_sandbox_full")
    check = Checker(page)
    log_in(page, "op")
    active = start(sandbox, op, "Live Model")
    held: list[Any] = []
    page.route(re.compile(r"\?poll=1$"), lambda route: held.append(route))
    page.goto(f"/runs/{active}/")
    page.locator("#run-live.htmx-request").wait_for(state="attached")
    copy = page.get_by_role("button", name="Copy run id")
    assert copy.evaluate("b => getComputedStyle(b).opacity") == "1"
    assert axe_problems(check.axe, page, "poll under way") == []
    # A person's own request (here the sync form's) is what dims.
    page.evaluate("document.querySelector('#run-live').classList.remove('htmx-request')")
    page.evaluate("document.querySelector('#run-status').classList.add('htmx-request')")
    assert copy.evaluate("b => getComputedStyle(b).opacity") == "0.7"
    for route in held:
        route.abort()
