"""In Chromium: following the team's work without acting — the inbox and its count, the models
list's latest runs updating themselves, and the audit log's filters in words."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from console.models import Notice, RunRecord
from console.roles import Role
from console.services.audit import Actor, Target, audit_record
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import log_in, member
from tests.browser.test_every_page import Checker
from tests.console.worker import sweep

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_inbox_counts_reads_and_follows_the_poll(page: Any, settings: Any) -> None:
    settings.CONSOLE_NOTICE_POLL_SECONDS = 1
    viewer = member("viewer", Role.VIEWER)
    now = timezone.now()
    run = RunRecord.objects.create(
        run_id="inbox-run",
        model_id="m-inbox",
        model_name="Inbox Model",
        status="FAILED",
        category="failed",
        created_at=now,
        first_seen_at=now,
        origin="console",
    )
    Notice.objects.create(
        user=viewer,
        kind="sync_done",
        text="Older news.",
        created_at=now,
        seen_at=now,
        read_at=now,
    )
    check = Checker(page)
    log_in(page, "viewer")
    page.goto("/runs/")
    assert page.locator("#inbox-count").is_hidden()
    Notice.objects.create(
        user=viewer,
        run=run,
        kind="run_ended",
        level="error",
        text="The fine-tune run of Inbox Model failed.",
        url="/runs/inbox-run/",
        created_at=now,
    )
    page.locator("#inbox-count", has_text="1").wait_for(timeout=10_000)  # by the poll
    assert page.get_by_role("link", name="Inbox, 1 unread").is_visible()
    page.get_by_role("link", name="Inbox, 1 unread").click()
    page.wait_for_url("**/inbox/")
    check("inbox with an unread notice")
    items = page.locator(".inbox__item")
    assert items.count() == 2
    assert "Inbox Model failed" in items.nth(0).inner_text()  # newest first
    weight = page.evaluate(
        "() => getComputedStyle(document.querySelector('.inbox__item--unread .inbox__text'))"
        ".fontWeight"
    )
    assert int(weight) >= 700
    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_url("**/inbox/")
    assert page.locator(".inbox__item--unread").count() == 0
    assert page.locator("#inbox-count").is_hidden()
    check("inbox, all read")
    page.get_by_role("link", name="The fine-tune run of Inbox Model failed.").click()
    page.wait_for_url("**/runs/inbox-run/")
    assert check.problems == [], "\n".join(check.problems)


def test_the_models_lists_latest_runs_update_themselves(
    page: Any, sandbox: SandboxServer, settings: Any
) -> None:
    settings.CONSOLE_POLL_SECONDS = 1
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Watched From The List")["id"]
    sandbox.state.add_run(model_id)
    sweep()
    log_in(page, "op")
    page.goto("/models/?q=Watched From The List")
    cell = page.locator("#latest-run-0")
    assert "Queued" in cell.inner_text()
    assert page.locator("#latest-poll .live-note").is_visible()
    sandbox.state.clock.advance(25)
    sweep("active")
    page.locator("#latest-run-0 .status--running").wait_for()
    sandbox.state.clock.advance(3600)
    sweep("active")
    page.locator("#latest-run-0 .status--succeeded").wait_for()
    page.locator("#latest-poll .live-note").wait_for(state="detached")  # and it stops
    page.locator("#latest-run-0 a").click()
    page.wait_for_url(re.compile(r"/runs/[^/]+/$"))
    assert page.console_errors == []


def test_the_audit_filters_in_words(page: Any) -> None:
    member("viewer", Role.VIEWER)
    for action, name in (("run.start", "Run Target"), ("model.update", "Edited Model")):
        audit_record(
            actor=Actor(None, "alpha"),
            action=action,
            outcome="succeeded",
            target=Target("model", "m-audit", name),
            changes={"before": {"auto_update_model": False}, "after": {"auto_update_model": True}},
        )
    check = Checker(page)
    log_in(page, "viewer")
    page.goto("/audit/")
    page.get_by_label("Action").select_option(label="Started a fine-tune run")
    page.wait_for_url(re.compile(r"action=run\.start"))
    rows = page.locator("#audit-results tbody tr")
    rows.first.wait_for()
    until_count(page, "#audit-results tbody tr", 1)
    assert "started a fine-tune run" in rows.first.inner_text()
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url(re.compile(r"since=\d{4}-\d\d-\d\d&until=\d{4}-\d\d-\d\d"))
    assert "action=run.start" in page.url  # presets keep the other filters
    page.get_by_label("Action").select_option(label="Edited a model")
    until_count(page, "#audit-results tbody tr", 1)
    page.locator("#audit-results details summary").first.click()
    details = page.locator("#audit-results details dl").first.inner_text()
    assert "Update automatically" in details and "No" in details and "Yes" in details
    check("audit filtered, details open")
    assert check.problems == [], "\n".join(check.problems)


def until_count(page: Any, selector: str, count: int) -> None:
    from tests.browser.helpers import until

    until(page, f"document.querySelectorAll({selector!r}).length === {count}")
