"""Adding a member: the table updates in place, and the one-time link copies with one click."""

from __future__ import annotations

from typing import Any

import pytest

from console.roles import Role
from tests.browser.helpers import log_in, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_a_member_then_copy_their_link_without_a_reload(page: Any) -> None:
    member("admin", Role.ADMIN)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "admin")
    page.goto("/team/")
    page.evaluate("() => { window.__sameDocument = true; }")
    members = page.locator("#members")
    assert "newcomer" not in members.inner_text()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_role("button", name="Add member").click()
    page.locator("#set-password-link").wait_for()
    assert "newcomer" in members.inner_text()
    assert page.evaluate("() => window.__sameDocument === true")  # no reload
    link = page.locator("#set-password-link").inner_text()
    assert "/account/set-password/" in link
    page.get_by_role("button", name="Copy the link").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    assert page.get_by_role("combobox", name="Role of newcomer").is_visible()


def test_changing_a_role_asks_first(page: Any) -> None:
    member("admin", Role.ADMIN)
    member("ops", Role.OPERATOR)
    log_in(page, "admin")
    page.goto("/team/")
    page.get_by_label("Role of ops").select_option("viewer")
    page.get_by_role("button", name="Change role… of ops").click()
    page.get_by_role("heading", name="Make ops Viewer?").wait_for()
    assert "will no longer be able to" in page.locator("main").inner_text()
    page.get_by_role("button", name="Make ops Viewer").click()
    page.get_by_text("ops is now Viewer.").first.wait_for()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_team_pages_targets_are_24_px_and_its_cards_keep_apart(page: Any, width: int) -> None:
    member("admin", Role.ADMIN)
    member("ops", Role.OPERATOR)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "admin")
    page.goto("/team/")
    small = page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'main select, main button, main input:not([type=hidden]), main a.button'))
            .filter((el) => el.offsetParent !== null)
            .map((el) => [el.outerHTML.slice(0, 60), el.getBoundingClientRect()])
            .filter(([, r]) => r.width < 24 || r.height < 24)
            .map(([html, r]) => `${html} ${Math.round(r.width)}×${Math.round(r.height)}`)"""
    )
    assert small == []
    gap = page.evaluate(
        """() => document.querySelector('#member-add').getBoundingClientRect().top
              - document.querySelector('#members').getBoundingClientRect().bottom"""
    )
    assert gap >= 16
