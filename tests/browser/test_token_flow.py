"""In Chromium: log in, save a token, see the masked token and what it can do."""

from __future__ import annotations

from typing import Any

import pytest

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import log_in, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_and_save_a_token(page: Any, sandbox: SandboxServer) -> None:
    member("viewer", Role.VIEWER)
    log_in(page, "viewer")
    page.goto("/account/token/")
    page.get_by_label("Dr.Gero API token").fill("drgero_sandbox_readonly")
    page.get_by_label("Label (optional)").fill("laptop")
    page.get_by_role("button", name="Check and save").click()
    page.wait_for_url("**/account/token/")
    saved = page.locator("#saved-heading").locator("..")
    assert "drgero_…only" in saved.inner_text()
    text = page.locator(".capabilities").inner_text()
    assert "Can read models: yes." in text
    assert "Can list leaderboards: yes." in text
    assert "drgero_sandbox_readonly" not in page.content()
    assert page.console_errors == []


def test_a_rejected_token_is_explained_in_place(page: Any, sandbox: SandboxServer) -> None:
    member("viewer", Role.VIEWER)
    log_in(page, "viewer")
    page.goto("/account/token/")
    page.get_by_label("Dr.Gero API token").fill("drgero_not_a_real_token")
    page.get_by_role("button", name="Check and save").click()
    alert = page.locator("#token-form [role=alert]")
    alert.wait_for()
    assert "did not accept this token" in alert.inner_text()
    assert page.get_by_label("Dr.Gero API token").input_value() == ""
    assert "drgero_not_a_real_token" not in page.content()
