"""In Chromium: change a weekly schedule to daily, watch the summary follow, confirm, verify."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import WEEKLY, log_in, member, until
from tests.browser.test_every_page import Checker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_weekly_to_daily(page: Any, sandbox: SandboxServer) -> None:
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model(
        "ws_main", name="Support Assistant", fine_tune_schedule=WEEKLY
    )["id"]
    log_in(page, "op")
    page.goto(f"/models/{model_id}/schedule/")
    summary = page.locator("#schedule-summary")
    assert "Every week, Dr.Gero fine-tunes Support Assistant" in summary.inner_text()
    page.get_by_label("Daily — Fine-tune once a day.").check()
    until(page, "document.querySelector('#schedule-summary').textContent.includes('Every day')")
    assert sandbox.state.count("PATCH", r".*") == 0
    page.get_by_label("Automatic — Dr.Gero decides how many rows to use").check()
    assert page.get_by_label("Rows", exact=True).is_disabled()
    page.get_by_label("A number of rows").check()
    assert page.get_by_label("Rows", exact=True).is_enabled()
    page.get_by_role("button", name="Review the change").click()
    confirm = page.locator(".confirm")
    confirm.wait_for()
    assert "Every day" in confirm.inner_text() and "Every week" in confirm.inner_text()
    page.get_by_role("button", name="Save the schedule").click()
    page.wait_for_url(f"**/models/{model_id}/")
    assert (
        "Every day, Dr.Gero fine-tunes Support Assistant"
        in page.locator("#schedule-heading + p").inner_text()
    )
    assert sandbox.state.models[model_id]["fine_tune_schedule"]["run"]["type"] == "DAILY"
    page.goto("/audit/")
    first_row = page.locator("#audit-results tbody tr").first
    assert "changed a fine-tune schedule" in first_row.inner_text()
    first_row.get_by_text("Details").click()
    details = first_row.inner_text()
    assert "Weekly, on a weighted sample of 2,000 rows" in details
    assert "Daily, on a weighted sample of 2,000 rows" in details
    assert "DAILY" not in details and "WEIGHTED_SHUFFLE" not in details  # words, not codes
    assert page.console_errors == []


def test_choosing_a_cadence_turns_an_off_schedule_on(page: Any, sandbox: SandboxServer) -> None:
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Quiet Model")["id"]
    log_in(page, "op")
    page.goto(f"/models/{model_id}/schedule/")
    off = page.get_by_label("Off — runs start only when someone starts one")
    on = page.get_by_label("On — Dr.Gero fine-tunes this model on a schedule")
    assert off.is_checked()
    page.get_by_label("Monthly — Fine-tune once a month.").check()
    assert on.is_checked()
    until(page, "document.querySelector('#schedule-summary').textContent.includes('Every month')")
    assert page.console_errors == []


def test_a_replaced_summary_request_is_not_an_error(page: Any, sandbox: SandboxServer) -> None:
    """A second change while the summary is still being asked for aborts the first request
    (hx-sync replace); the page checks out clean and shows the latest summary, and the
    checker still reports a real console error."""
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model(
        "ws_main", name="Support Assistant", fine_tune_schedule=WEEKLY
    )["id"]
    check = Checker(page)
    log_in(page, "op")
    page.goto(f"/models/{model_id}/schedule/")
    held: list[Any] = []

    def hold_first(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # never answered: the next change replaces it

    page.route(re.compile(r"/schedule/summary/"), hold_first)
    page.get_by_label("Daily — Fine-tune once a day.").check()
    page.locator("#schedule-summary.htmx-request, form .htmx-request").first.wait_for(
        state="attached"
    )
    page.get_by_label("Weekly — Fine-tune once a week.").check()
    until(page, "document.querySelector('#schedule-summary').textContent.includes('Every week')")
    assert any(e.startswith("htmx:sendAbort") for e in page.console_errors)
    check("schedule, summary replaced")
    assert check.problems == []
    page.evaluate("console.error('a real script error')")
    check("schedule, real error")
    assert check.problems == ["schedule, real error: console ['a real script error']"]
