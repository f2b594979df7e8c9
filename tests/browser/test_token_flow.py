"""In Chromium: log in, save a token, see the masked token and what it can do."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from console.roles import Role
from console.services.team import set_role_groups
from drgero_client.sandbox import SandboxServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_log_in_and_save_a_token(page: Any, sandbox: SandboxServer) -> None:
    user = get_user_model().objects.create_user("viewer", password="browser-test-pw-1")
    set_role_groups(user, Role.VIEWER)
    log_in(page, "viewer", "browser-test-pw-1")
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
    user = get_user_model().objects.create_user("viewer", password="browser-test-pw-1")
    set_role_groups(user, Role.VIEWER)
    log_in(page, "viewer", "browser-test-pw-1")
    page.goto("/account/token/")
    page.get_by_label("Dr.Gero API token").fill("drgero_not_a_real_token")
    page.get_by_role("button", name="Check and save").click()
    alert = page.locator("#token-form [role=alert]")
    alert.wait_for()
    assert "did not accept this token" in alert.inner_text()
    assert page.get_by_label("Dr.Gero API token").input_value() == ""
    assert "drgero_not_a_real_token" not in page.content()
