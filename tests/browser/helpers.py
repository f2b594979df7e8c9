"""Helpers for browser tests."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model

from console.roles import Role
from console.services.team import set_role_groups
from tests.console.conftest import store_token

PASSWORD = "browser-test-pw-1"  # noqa: S105
WEEKLY = {
    "run": {"type": "WEEKLY"},
    "dataset": {
        "mode": "LIMIT",
        "limit": {"auto": False, "rows": 2000, "algorithm": "WEIGHTED_SHUFFLE"},
    },
}


def member(username: str, role: Role, token: str | None = None) -> Any:
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    set_role_groups(user, role)
    if token:
        store_token(user, token)
    return user


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def until(page: Any, expression: str, *, timeout: float = 10.0) -> None:
    """Wait until a JavaScript expression is true in the page.

    Playwright's wait_for_function polls by evaluating a string inside the page, which the
    console's Content-Security-Policy (no unsafe-eval) forbids; page.evaluate goes through the
    DevTools protocol instead, so this polls from here.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(f"() => !!({expression})"):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {expression}")
