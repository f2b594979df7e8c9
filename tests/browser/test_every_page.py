"""Every page in every state the other tests reach: no CSP violation, no console error, and no
axe-core violation of WCAG 2.0/2.1/2.2 A and AA."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.browser.helpers import WEEKLY, log_in, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


# Chromium logs every 4xx answer as a console error; these statuses are the console's own
# deliberate answers (a refused form, a refusal, a missing page), not script errors.
DELIBERATE_STATUS = re.compile(
    r"^Failed to load resource: the server responded with a status of (403|404|422) "
)


def replaced_requests_left_out(errors: list[str]) -> list[str]:
    """The console errors less htmx's log of a request it aborted on purpose.

    ``hx-sync="this:replace"`` (the schedule's summary, the models search) aborts a request
    still under way when a newer one starts, and htmx logs that abort as two console errors,
    ``htmx:afterRequest, <target>`` and ``htmx:sendAbort, <target>``. Only that pair, for the
    same target, is left out: an ``htmx:afterRequest`` that comes with a send error or a
    timeout is still reported."""
    abort, after = "htmx:sendAbort", "htmx:afterRequest"
    aborted = {e.removeprefix(abort) for e in errors if e.startswith(abort)}
    return [
        e
        for e in errors
        if not (e.startswith(abort) or (e.startswith(after) and e.removeprefix(after) in aborted))
    ]


def axe_problems(axe: Axe, page: Any, label: str) -> list[str]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA violations on the page as it is, one line each."""
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [
        f"{label}: axe {v['id']} {[n['target'] for n in v['nodes']][:3]}"
        # What axe saw (the element and its reason), so that a failure seen once in CI can be
        # understood from its log alone.
        f" {[(n['html'][:160], n.get('failureSummary', '')[:300]) for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


class Checker:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.axe = Axe()
        self.problems: list[str] = []
        self.checked = 0
        page.add_init_script(WATCH_CSP)

    def __call__(self, label: str) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        csp = page.evaluate("window.__csp || []")
        if csp:
            self.problems.append(f"{label}: CSP {csp}")
        errors = replaced_requests_left_out(
            [e for e in page.console_errors if not DELIBERATE_STATUS.match(e)]
        )
        if errors:
            self.problems.append(f"{label}: console {errors}")
        page.console_errors.clear()
        self.problems += axe_problems(self.axe, page, label)
        for tag, selector in (("title", "title"), ("lang", "html[lang]"), ("main", "main")):
            if page.locator(selector).count() == 0:
                self.problems.append(f"{label}: no {tag}")
        self.checked += 1

    def visit(self, path: str, label: str | None = None) -> None:
        self.page.goto(path)
        self(label or path)


def test_every_page_and_state(page: Any, sandbox: SandboxServer, settings: Any) -> None:
    check = Checker(page)
    model_id = sandbox.state.add_model(
        "ws_main",
        name="Checked Model",
        fine_tune_schedule=WEEKLY,
        description="A model for the crawl",
    )["id"]
    sandbox.state.add_run(model_id)
    free_model = next(
        m["id"] for m in sandbox.state.models.values() if m["_workspace"] == "ws_free"
    )
    admin = member("admin", Role.ADMIN, token="drgero_sandbox_full")
    member("viewer", Role.VIEWER)
    member("freeplan", Role.OPERATOR, token="drgero_sandbox_freeplan")

    check.visit("/login/", "login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    check("login with an error")

    log_in(page, "admin")
    for path in (
        "/models/",
        "/models/?q=zzz",
        "/models/new/",
        f"/models/{model_id}/",
        f"/models/{model_id}/edit/",
        f"/models/{model_id}/delete/",
        "/base-models/",
        "/runs/",
        f"/models/{model_id}/runs/",
        f"/models/{model_id}/runs/new/",
        f"/models/{model_id}/schedule/",
        "/audit/",
        "/audit/?actor=nobody",
        "/audit/?action=run",
        "/inbox/",
        "/team/",
        "/account/token/",
        "/account/password/",
        "/models/not-a-model/",
        "/nowhere/",
    ):
        check.visit(path)

    page.goto("/models/new/")
    page.get_by_role("button", name="Create model").click()
    page.locator("#id_name_error").wait_for()
    check("new model with errors")

    page.goto(f"/models/{model_id}/delete/")
    page.get_by_label("Type the model's name to confirm").fill("wrong")
    page.get_by_role("button", name="Delete Checked Model").click()
    check("delete with a wrong name")

    page.goto(f"/models/{model_id}/runs/new/")
    page.get_by_label("Rows", exact=True).fill("0")
    page.get_by_role("button", name="Review").click()
    page.locator("#id_rows_error").wait_for()
    check("run form with errors")
    page.get_by_label("Rows", exact=True).fill("500")
    page.get_by_role("button", name="Review").click()
    page.locator(".confirm").wait_for()
    check("run confirmation")

    page.goto(f"/models/{model_id}/schedule/")
    page.get_by_label("Rows", exact=True).fill("-1")
    page.get_by_role("button", name="Review the change").click()
    page.locator("#id_rows_error").wait_for()
    check("schedule with errors")
    page.get_by_label("Rows", exact=True).fill("100")
    page.get_by_role("button", name="Review the change").click()
    page.locator(".confirm").wait_for()
    check("schedule confirmation")

    page.goto("/team/")
    page.get_by_role("button", name="Add member").click()
    page.locator("#member-add .field-errors").first.wait_for()
    check("team add with errors")
    page.goto("/team/")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_role("button", name="Add member").click()
    page.locator("#member-add .banner").wait_for()
    check("team add with a set-password link")
    viewer_id = admin.__class__.objects.get(username="viewer").pk
    check.visit(f"/team/{viewer_id}/deactivate/", "deactivate confirmation")
    page.goto("/team/")
    page.get_by_label("Role of viewer").select_option("operator")
    page.get_by_role("button", name="Change role… of viewer").click()
    page.locator(".confirm").wait_for()
    check("role change confirmation")

    page.goto("/account/token/")
    page.get_by_label("Dr.Gero API token").fill("drgero_not_valid_token")
    page.get_by_role("button", name="Check and save").click()
    page.locator("#token-form [role=alert]").wait_for()
    check("token rejected")

    from tests.console.worker import sweep

    sweep()  # the console's record of the models, which a member without a token follows
    page.context.clear_cookies()
    log_in(page, "viewer")
    viewer_pages = (
        "/models/",
        f"/models/{model_id}/",
        f"/models/{model_id}/runs/",
        "/team/",
        "/account/token/",
        f"/models/{model_id}/schedule/",
        "/inbox/",
    )
    for path in viewer_pages:
        check.visit(path, f"viewer {path}")

    page.context.clear_cookies()
    log_in(page, "freeplan")
    page.goto(f"/models/{free_model}/schedule/")
    page.get_by_label("On — Dr.Gero fine-tunes this model on a schedule").check()
    page.get_by_label("Weekly — Fine-tune once a week.").check()
    page.get_by_role("button", name="Review the change").click()
    page.get_by_role("button", name="Save the schedule").click()
    page.locator("#problem").wait_for()
    check("schedule refused by the plan")

    assert check.checked >= 41
    assert check.problems == [], "\n".join(check.problems)
