"""Keyboard only: the main flows with visible focus, focus into and out of confirmations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import WEEKLY, log_in, member, until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def focused(page: Any, expression: str) -> bool:
    return bool(
        page.evaluate(f"(() => {{ const el = document.activeElement; return {expression}; }})()")
    )


def wait_focus(page: Any, expression: str) -> None:
    until(
        page, f"(() => {{ const el = document.activeElement; return !!el && ({expression}); }})()"
    )


def tab_to(page: Any, expression: str, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab until the focused element satisfies ``expression``; check focus is visible."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if focused(page, expression):
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {expression}"
            return
    raise AssertionError(f"Tab never reached {expression}")


def button(label: str) -> str:
    return f"el.tagName === 'BUTTON' && el.textContent.trim() === {label!r}"


def test_create_a_model_by_keyboard(page: Any, sandbox: SandboxServer) -> None:
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    log_in(page, "op")
    page.goto("/models/new/")
    tab_to(page, "el.id === 'id_name'")
    page.keyboard.type("Keyboard Model")
    tab_to(page, "el.id === 'id_description'")
    page.keyboard.type("Made without a mouse")
    tab_to(page, "el.type === 'checkbox' && el.labels[0].textContent.includes('Billing Questions')")
    page.keyboard.press("Space")
    tab_to(page, button("Create model"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/models/[0-9a-f-]{36}/$"))
    created = [m for m in sandbox.state.models.values() if m["name"] == "Keyboard Model"]
    assert created and created[0]["leaderboard_ids"] == ["4f1c2b7e-9d3a-4c61-8a55-0b9e2f7d1c20"]


def test_start_a_run_by_keyboard(page: Any, sandbox: SandboxServer) -> None:
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Keys")["id"]
    log_in(page, "op")
    page.goto(f"/models/{model_id}/runs/new/")
    tab_to(page, "el.id === 'id_rows'")
    page.keyboard.press("Control+A")
    page.keyboard.type("750")
    tab_to(page, button("Review"))
    page.keyboard.press("Enter")
    page.locator(".confirm").wait_for()
    wait_focus(page, "el.classList.contains('confirm')")  # focus moved into the confirmation
    tab_to(page, button("Change settings"))
    page.keyboard.press("Enter")
    page.locator("#id_rows").wait_for()
    wait_focus(page, button("Review"))  # and back out, onto the button that opened it
    assert page.locator("#id_rows").input_value() == "750"
    page.keyboard.press("Enter")
    page.locator(".confirm").wait_for()
    tab_to(page, button("Start the run"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/runs/[^/]+/#run-status$"))
    wait_focus(page, "el.id === 'run-status'")  # focus arrives on the new run's status
    assert sandbox.state.count("POST", r"/api/models/.*/fine-tune/run") == 1


def test_edit_a_schedule_by_keyboard(page: Any, sandbox: SandboxServer) -> None:
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Keys", fine_tune_schedule=WEEKLY)["id"]
    log_in(page, "op")
    page.goto(f"/models/{model_id}/schedule/")
    tab_to(page, "el.name === 'cadence'")
    assert focused(page, "el.value === 'WEEKLY'")
    page.keyboard.press("ArrowUp")  # radio groups move with the arrow keys
    assert focused(page, "el.value === 'DAILY' && el.checked")
    until(page, "document.querySelector('#schedule-summary').textContent.includes('Every day')")
    tab_to(page, button("Review the change"))
    page.keyboard.press("Enter")
    page.locator(".confirm").wait_for()
    wait_focus(page, "el.classList.contains('confirm')")
    tab_to(page, button("Save the schedule"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/models/{model_id}/")
    assert sandbox.state.models[model_id]["fine_tune_schedule"]["run"]["type"] == "DAILY"


def test_delete_with_typed_confirmation_by_keyboard(page: Any, sandbox: SandboxServer) -> None:
    member("admin", Role.ADMIN, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Keys To Delete")["id"]
    log_in(page, "admin")
    page.goto(f"/models/{model_id}/delete/")
    assert focused(page, "el.tagName === 'A' && el.textContent.trim() === 'Cancel'")
    tab_to(page, "el.id === 'id_confirm_name'", backwards=True)
    page.keyboard.type("Keys To Delete")
    tab_to(page, button("Delete Keys To Delete"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/models/")
    assert model_id not in sandbox.state.models
