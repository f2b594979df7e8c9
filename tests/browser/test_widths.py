"""Every page of the page map at 320, 390, 768 and 1280 px, in light and in dark: the page never
scrolls sideways, and axe finds no WCAG A/AA violation (colour contrast included)."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import WEEKLY, log_in, member
from tests.browser.test_every_page import axe_problems
from tests.console.views.test_runs_pages import record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (320, 390, 768, 1280)
SCHEMES = ("light", "dark")


def pages(model_id: str, viewer_id: int) -> list[str]:
    return [
        "/models/",
        "/models/new/",
        f"/models/{model_id}/",
        f"/models/{model_id}/edit/",
        f"/models/{model_id}/delete/",
        "/base-models/",
        "/runs/",
        "/runs/?status=succeeded",
        f"/models/{model_id}/runs/",
        f"/models/{model_id}/runs/new/",
        f"/models/{model_id}/schedule/",
        "/runs/run-long-identifier-0001/",
        "/audit/",
        "/inbox/",
        "/team/",
        f"/team/{viewer_id}/deactivate/",
        "/account/token/",
        "/account/notifications/",
        "/account/password/",
        "/nowhere/",
    ]


class WidthChecker:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.axe = Axe()
        self.problems: list[str] = []
        self.checked = 0

    def check(self, label: str) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        wide = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if wide[0] > wide[1]:
            self.problems.append(f"{label}: scrolls sideways ({wide[0]} px in {wide[1]} px)")
        self.problems += axe_problems(self.axe, page, label)
        self.checked += 1


def test_every_page_at_every_width_in_light_and_dark(
    page: Any, sandbox: SandboxServer, settings: Any
) -> None:
    model_id = sandbox.state.add_model(
        "ws_main",
        name="A model with a rather long name to wrap on phones",
        fine_tune_schedule=WEEKLY,
        description="A model for the crawl at every width",
    )["id"]
    sandbox.state.add_run(model_id)
    record(
        1,
        run_id="run-long-identifier-0001",
        model_id=model_id,
        model_name="A model with a rather long name to wrap on phones",
        error="The dataset had no rows after filtering; nothing was trained.",
    )
    for n in range(2, 5):
        record(n, run_id=f"run-{n}", model_id=model_id, status="FAILED", category="failed")
    admin = member("admin", Role.ADMIN, token="drgero_sandbox_full")
    viewer = member("viewer", Role.VIEWER)
    from django.utils import timezone

    from console.models import Notice

    for _ in range(3):  # the header's unread count, and an inbox with something in it
        Notice.objects.create(
            user=admin,
            kind="run_ended",
            level="error",
            text="The fine-tune run of A model with a rather long name to wrap on phones "
            "failed after 12 min: The dataset had no rows after filtering.",
            url="/runs/run-long-identifier-0001/",
            created_at=timezone.now(),
            seen_at=timezone.now(),
        )
    log_in(page, "admin")
    checker = WidthChecker(page)
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            for path in pages(model_id, viewer.pk):
                page.goto(path)
                checker.check(f"{path} at {width} px, {scheme}")
    assert checker.checked == len(SCHEMES) * len(WIDTHS) * 20
    assert checker.problems == [], "\n".join(checker.problems)


def test_the_chosen_colours_override_the_system(page: Any) -> None:
    """A member who chose dark gets dark on a light system, and the reverse."""
    user = member("chooser", Role.VIEWER)
    log_in(page, "chooser")
    background = "() => getComputedStyle(document.documentElement).backgroundColor"
    page.emulate_media(color_scheme="light")
    page.goto("/runs/")
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    page.goto("/runs/")
    dark = page.evaluate(background)
    assert light != dark
    page.goto("/account/notifications/")
    page.get_by_label("Colours").select_option("light")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate(background) == light  # the system says dark; the member chose light
    assert user.console_settings.theme == "light"


def test_filters_fold_on_a_phone_and_say_how_many_are_active(page: Any) -> None:
    member("phone", Role.VIEWER)
    log_in(page, "phone")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/runs/")
    summary = page.locator(".filters-fold > summary")
    assert summary.inner_text() == "Filters"
    assert not page.get_by_label("Status").is_visible()
    summary.click()
    page.get_by_label("Status").select_option("failed")
    page.wait_for_url("**/runs/?*status=failed*")
    page.goto(page.url)
    assert page.locator(".filters-fold > summary").inner_text() == "Filters (1 active)"
    assert page.get_by_label("Status").is_visible()  # open while a filter is on
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/runs/")
    assert page.get_by_label("Status").is_visible()  # open on a wide screen
