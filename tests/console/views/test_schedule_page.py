"""The schedule editor: bad input sends nothing, refusals keep the input, every save audited."""

from __future__ import annotations

import json
import re
from itertools import product
from typing import Any

import pytest
from django.test import Client

from console.models import AuditEvent
from console.roles import Role
from console.services.schedules import ScheduleChoice, schedule_sentence
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import HTMX

pytestmark = pytest.mark.django_db

WEEKLY = {
    "run": {"type": "WEEKLY"},
    "dataset": {
        "mode": "LIMIT",
        "limit": {"auto": False, "rows": 2000, "algorithm": "WEIGHTED_SHUFFLE"},
    },
}
FORM = {"enabled": "on", "cadence": "DAILY", "size": "rows", "rows": "3000", "algorithm": "LAST_N"}


@pytest.fixture
def operator(login_as: Any) -> Client:
    return login_as(Role.OPERATOR, token="drgero_sandbox_full")


def a_model(sandbox: SandboxServer, schedule: Any = None, workspace: str = "ws_main") -> str:
    return sandbox.state.add_model(
        workspace, name="Support Assistant", fine_tune_schedule=schedule
    )["id"]


EXPECTED_OPENING = {
    "REAL_TIME": "As new data arrives",
    "DAILY": "Every day",
    "WEEKLY": "Every week",
    "MONTHLY": "Every month",
}
EXPECTED_DATA = {
    (False, "LAST_N"): "the newest 2,000 rows",
    (False, "RANDOM_SHUFFLE"): "a random sample of 2,000 rows",
    (False, "WEIGHTED_SHUFFLE"): "a weighted sample of 2,000 rows",
    (True, "LAST_N"): "an automatically sized set of the newest rows",
    (True, "RANDOM_SHUFFLE"): "an automatically sized set of randomly sampled rows",
    (True, "WEIGHTED_SHUFFLE"): "an automatically sized set of weighted-sampled rows",
}


@pytest.mark.parametrize(
    ("cadence", "auto", "algorithm"),
    list(
        product(EXPECTED_OPENING, [False, True], ["LAST_N", "RANDOM_SHUFFLE", "WEIGHTED_SHUFFLE"])
    ),
)
def test_the_summary_sentence(cadence: str, auto: bool, algorithm: str) -> None:
    choice = ScheduleChoice(True, cadence, auto, None if auto else 2000, algorithm)
    assert schedule_sentence("Support Assistant", choice) == (
        f"{EXPECTED_OPENING[cadence]}, Dr.Gero fine-tunes Support Assistant on "
        f"{EXPECTED_DATA[(auto, algorithm)]}."
    )


def test_the_summary_for_off_and_an_unknown_cadence() -> None:
    assert schedule_sentence("M", ScheduleChoice(False)).startswith(
        "The schedule is off: no fine-tune runs will start on their own"
    )
    odd = ScheduleChoice(True, "FORTNIGHTLY", False, 10, "LAST_N")
    assert schedule_sentence("M", odd) == (
        "On its “FORTNIGHTLY” schedule, Dr.Gero fine-tunes M on the newest 10 rows."
    )


def test_the_summary_fragment_follows_the_form(operator: Client, sandbox: SandboxServer) -> None:
    model_id = a_model(sandbox, WEEKLY)
    response = operator.get(
        f"/models/{model_id}/schedule/summary/", {**FORM, "model_name": "Support Assistant"}, **HTMX
    )
    body = response.content.decode()
    assert body.startswith('<p id="schedule-summary"')
    assert "Every day, Dr.Gero fine-tunes Support Assistant on the newest 3,000 rows." in body
    assert sandbox.state.seen == []


def test_the_page_shows_the_current_schedule(operator: Client, sandbox: SandboxServer) -> None:
    body = operator.get(f"/models/{a_model(sandbox, WEEKLY)}/schedule/").content.decode()
    assert (
        "Every week, Dr.Gero fine-tunes Support Assistant on a weighted sample of 2,000 rows."
        in body
    )
    assert "no day or time settings" in body


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("", "Enter how many rows"),
        ("0", "at least 1 row"),
        ("-3", "at least 1 row"),
        ("2.5", "whole number"),
        ("10000001", "At most 10,000,000"),
    ],
)
def test_bad_rows_send_nothing(
    operator: Client, sandbox: SandboxServer, rows: str, message: str
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    for step in ("preview", "confirm"):
        response = operator.post(
            f"/models/{model_id}/schedule/{step}/", {**FORM, "rows": rows}, **HTMX
        )
        assert response.status_code == 422
        assert message in response.content.decode()
    assert sandbox.state.count("PATCH", r".*") == 0
    assert not AuditEvent.objects.exists()


def test_saving_shows_before_and_after_then_patches(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    preview = operator.post(f"/models/{model_id}/schedule/preview/", {**FORM}, **HTMX)
    body = preview.content.decode()
    assert "Every week" in body and "Every day, Dr.Gero fine-tunes" in body
    assert sandbox.state.count("PATCH", r".*") == 0
    done = operator.post(f"/models/{model_id}/schedule/confirm/", {**FORM}, **HTMX)
    assert done["HX-Redirect"] == f"/models/{model_id}/"
    schedule = sandbox.state.models[model_id]["fine_tune_schedule"]
    assert schedule == {
        "run": {"type": "DAILY"},
        "dataset": {"mode": "LIMIT", "limit": {"auto": False, "rows": 3000, "algorithm": "LAST_N"}},
    }
    event = AuditEvent.objects.get(action="schedule.update")
    changes = json.loads(event.changes)
    assert (
        changes["before"]["run"]["type"] == "WEEKLY" and changes["after"]["run"]["type"] == "DAILY"
    )
    assert event.outcome == "succeeded"


def test_turning_it_off_clears_the_schedule_after_confirmation(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    preview = operator.post(f"/models/{model_id}/schedule/preview/", {"enabled": "off"})
    assert "Turn the schedule off" in preview.content.decode()
    assert sandbox.state.models[model_id]["fine_tune_schedule"] == WEEKLY
    operator.post(f"/models/{model_id}/schedule/confirm/", {"enabled": "off"})
    assert sandbox.state.models[model_id]["fine_tune_schedule"] is None
    patch = [r for r in sandbox.state.seen if r.method == "PATCH"]
    assert [p.body for p in patch] == [b'{"fine_tune_schedule":null}']
    event = AuditEvent.objects.get(action="schedule.clear")
    assert json.loads(event.changes)["after"] is None


def test_a_free_plan_gets_the_plan_banner_keeps_input_and_is_audited(
    login_as: Any, sandbox: SandboxServer
) -> None:
    client = login_as(Role.OPERATOR, token="drgero_sandbox_freeplan")
    model_id = a_model(sandbox, None, workspace="ws_free")
    response = client.post(f"/models/{model_id}/schedule/confirm/", {**FORM}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 422
    assert "Scheduled fine-tuning needs a paid Dr.Gero plan." in body
    assert "Nothing was changed" in body and "workspace owner or admin" in body
    assert 'value="3000"' in body
    event = AuditEvent.objects.get(action="schedule.update")
    assert (event.outcome, event.status_code) == ("failed", 402)


@pytest.mark.parametrize(
    ("body", "banner"),
    [
        (
            {"error": "Your plan does not include scheduled fine-tuning"},
            "needs a paid Dr.Gero plan",
        ),
        (
            {
                "error": "This token lacks the models:write scope",
                "details": {"required_scope": "models:write"},
            },
            "lacks models:write",
        ),
    ],
    ids=["plan-403", "scope-403"],
)
def test_a_403_is_a_plan_banner_only_when_it_speaks_of_plans(
    operator: Client, sandbox: SandboxServer, body: dict, banner: str
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    sandbox.arm(r"/api/models/.*", method="PATCH", status=403, body=body)
    response = operator.post(f"/models/{model_id}/schedule/confirm/", {**FORM}, **HTMX)
    assert banner in response.content.decode()


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ({"status": 404}, "no longer exists"),
        ({"status": 409}, "right now"),
        ({"status": 429, "headers": {"Retry-After": "20"}}, "try again in 20 seconds"),
        ({"status": 503}, "did not answer properly"),
        ({"kind": "delay", "delay_s": 0.9}, "did not answer"),
    ],
    ids=["404", "409", "429", "503", "timeout"],
)
def test_other_failures_keep_the_input(
    operator: Client, sandbox: SandboxServer, fault: dict, words: str
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    sandbox.arm(r"/api/models/.*", method="PATCH", **fault)
    response = operator.post(f"/models/{model_id}/schedule/confirm/", {**FORM}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 422 and words in body and 'value="3000"' in body
    assert AuditEvent.objects.filter(action="schedule.update").count() == 1


def test_an_unknown_cadence_survives_an_edit_of_the_rows(
    operator: Client, sandbox: SandboxServer
) -> None:
    odd = {
        "run": {"type": "FORTNIGHTLY"},
        "dataset": {"mode": "LIMIT", "limit": {"auto": False, "rows": 100, "algorithm": "LAST_N"}},
    }
    model_id = a_model(sandbox, odd)
    page = operator.get(f"/models/{model_id}/schedule/").content.decode()
    assert "FORTNIGHTLY — as Dr.Gero has it" in page
    operator.post(
        f"/models/{model_id}/schedule/confirm/",
        {
            "enabled": "on",
            "cadence": "FORTNIGHTLY",
            "size": "rows",
            "rows": "500",
            "algorithm": "LAST_N",
        },
    )
    schedule = sandbox.state.models[model_id]["fine_tune_schedule"]
    assert schedule["run"]["type"] == "FORTNIGHTLY" and schedule["dataset"]["limit"]["rows"] == 500


def test_a_viewer_reads_but_cannot_save(login_as: Any, sandbox: SandboxServer) -> None:
    client = login_as(Role.VIEWER, token="drgero_sandbox_full")
    model_id = a_model(sandbox, WEEKLY)
    page = client.get(f"/models/{model_id}/schedule/").content.decode()
    assert "Every week" in page and "Review the change" not in page
    refused = client.post(f"/models/{model_id}/schedule/confirm/", {**FORM})
    assert refused.status_code == 403
    assert sandbox.state.count("PATCH", r".*") == 0


@pytest.mark.parametrize("cadence", ["", None])
def test_a_schedule_that_is_on_needs_a_cadence(
    operator: Client, sandbox: SandboxServer, cadence: str | None
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    form = (
        {**FORM, "cadence": cadence}
        if cadence is not None
        else {k: v for k, v in FORM.items() if k != "cadence"}
    )
    for step in ("preview", "confirm"):
        response = operator.post(f"/models/{model_id}/schedule/{step}/", {**form}, **HTMX)
        assert response.status_code == 422
        assert "Choose how often Dr.Gero should fine-tune." in response.content.decode()
    assert sandbox.state.count("PATCH", r".*") == 0
    assert not AuditEvent.objects.exists()


def test_change_settings_comes_back_to_the_form_with_the_values_but_no_made_up_cadence(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    back = operator.get(
        f"/models/{model_id}/schedule/?enabled=on&cadence=DAILY&size=rows&rows=1234&algorithm=LAST_N"
    ).content.decode()
    assert 'value="1234"' in back
    assert re.search(r'name="cadence" value="DAILY"[^>]*checked', back)
    forged = operator.get(
        f"/models/{model_id}/schedule/?enabled=on&cadence=EVERY_SECOND"
    ).content.decode()
    assert "EVERY_SECOND" not in forged


def test_the_why_of_a_schedule_change_is_kept_in_the_audit_log(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    preview = operator.post(f"/models/{model_id}/schedule/preview/", {**FORM})
    assert "Why are you changing the schedule? (optional)" in preview.content.decode()
    operator.post(
        f"/models/{model_id}/schedule/confirm/", {**FORM, "note": "Daily data\u200b now\x07"}
    )
    event = AuditEvent.objects.get(action="schedule.update")
    assert json.loads(event.changes)["note"] == "Daily data now"
    audit = operator.get("/audit/").content.decode()
    assert "Daily data now" in audit and "Weekly" in audit and "Daily" in audit


def test_a_note_too_long_changes_nothing_and_keeps_what_was_typed(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox, WEEKLY)
    response = operator.post(f"/models/{model_id}/schedule/confirm/", {**FORM, "note": "x" * 501})
    assert response.status_code == 422
    assert "at most 500 characters" in response.content.decode()
    assert sandbox.state.count("PATCH", r".*") == 0
    assert sandbox.state.models[model_id]["fine_tune_schedule"] == WEEKLY


def test_a_plan_refusal_is_remembered_before_the_form_is_filled(
    login_as: Any, sandbox: SandboxServer
) -> None:
    client = login_as(Role.OPERATOR, token="drgero_sandbox_freeplan")
    model_id = a_model(sandbox, None, workspace="ws_free")
    page = client.get(f"/models/{model_id}/schedule/").content.decode()
    assert 'id="plan-refused"' not in page
    client.post(f"/models/{model_id}/schedule/confirm/", {**FORM})
    page = client.get(f"/models/{model_id}/schedule/").content.decode()
    assert 'id="plan-refused"' in page and "for the team's plan" in page
    assert "Review the change" in page  # people may still try
