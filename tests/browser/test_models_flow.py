"""In Chromium: create a model, find it by search, edit it, delete it with typed confirmation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import log_in, member

DETAIL = re.compile(r".*/models/[0-9a-f-]{36}/$")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_search_edit_delete(page: Any, sandbox: SandboxServer) -> None:
    member("admin", Role.ADMIN, token="drgero_sandbox_full")
    log_in(page, "admin")
    page.goto("/models/new/")
    page.get_by_label("Name").fill("Browser Model")
    page.get_by_label("Description").fill("Made in a browser test")
    page.get_by_label("Customer Support QA").check()
    page.get_by_role("button", name="Create model").click()
    page.wait_for_url(DETAIL)
    assert page.get_by_role("heading", level=1).inner_text() == "Browser Model"
    assert "was created in Dr.Gero" in page.locator(".messages").inner_text()

    page.goto("/models/")
    page.get_by_label("Find by name").fill("browser")
    page.wait_for_url("**/models/?q=browser")
    rows = page.locator("#models-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1 and "Browser Model" in rows.first.inner_text()

    rows.first.get_by_role("link", name="Browser Model").click()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Description").fill("Edited in a browser test")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(DETAIL)
    assert "Edited in a browser test" in page.locator(".lede").inner_text()

    page.get_by_role("link", name="Delete…").click()
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Cancel"
    page.get_by_label("Type the model's name to confirm").fill("Browser Model")
    page.get_by_role("button", name="Delete Browser Model").click()
    page.wait_for_url("**/models/")
    assert "Browser Model" not in page.locator("#models-table").inner_text()
    assert page.console_errors == []


def test_a_validation_error_shows_at_the_field(page: Any, sandbox: SandboxServer) -> None:
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    log_in(page, "op")
    page.goto("/models/new/")
    page.get_by_label("Description").fill("No name given")
    page.get_by_role("button", name="Create model").click()
    error = page.locator("#id_name_error")
    error.wait_for()
    assert "Give the model a name." in error.inner_text()
    assert page.get_by_label("Description").input_value() == "No name given"
    assert sandbox.state.count("POST", "/api/models") == 0


def test_a_dr_gero_500_on_create_keeps_the_input(page: Any, sandbox: SandboxServer) -> None:
    member("op", Role.OPERATOR, token="drgero_sandbox_full")
    log_in(page, "op")
    sandbox.arm("/api/models", method="POST", status=500)
    page.goto("/models/new/")
    page.get_by_label("Name").fill("Kept Name")
    page.get_by_label("Description").fill("Kept description")
    page.get_by_label("Billing Questions").check()
    page.get_by_role("button", name="Create model").click()
    alert = page.locator("#model-form [role=alert]")
    alert.wait_for()
    assert "did not answer properly (500)" in alert.inner_text()
    assert page.get_by_label("Name").input_value() == "Kept Name"
    assert page.get_by_label("Description").input_value() == "Kept description"
    assert page.get_by_label("Billing Questions").is_checked()
