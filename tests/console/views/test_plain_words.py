"""Words operators stumbled on, now plain; one day format; each member's time zone."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from console.models import AuditEvent
from console.roles import Role
from console.services.audit import Actor, Target, audit_record
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import HTMX
from tests.console.html import has_html
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(login_as: Any) -> Client:
    return login_as(Role.OPERATOR, token="drgero_sandbox_full")


def test_the_history_says_check_for_updates_and_how_runs_started(
    sandbox: SandboxServer, operator: Client
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Worded")["id"]
    sandbox.state.add_run(model_id, trigger="schedule")
    sweep()
    body = operator.get(f"/models/{model_id}/runs/").content.decode()
    assert "Check Dr.Gero for updates" in body and "Sync now" not in body
    assert "asks Dr.Gero to refresh this model's runs now" in body
    assert "How started" in body and "Outside the console" in body
    assert "started by Dr.Gero's schedule or another tool" in body


def test_the_model_page_names_its_base_model_and_explains_creation(
    sandbox: SandboxServer, operator: Client
) -> None:
    model_id = sandbox.state.add_model(
        "ws_main", name="Based", base_model_id="mistral-7b-instruct-v0.3"
    )["id"]
    body = operator.get(f"/models/{model_id}/").content.decode()
    assert has_html(body, "<dt>Base model</dt><dd>Mistral 7B Instruct v0.3</dd>")
    assert "base_model_id" not in body
    assert "Automatic — Dr.Gero builds the model from its leaderboards" in body


def test_the_token_page_says_what_the_token_may_do(login_as: Any) -> None:
    from console.models import DrGeroToken

    member = login_as(Role.OPERATOR, token="drgero_sandbox_nofinetune")
    DrGeroToken.objects.filter(user=member.user).update(refused_scopes=["models:fine-tune"])
    body = member.get("/account/token/").content.decode()
    assert "carries <em>scopes</em>" in body
    assert "Can start fine-tune runs and ask Dr.Gero for their updates: no" in body
    assert "Can create, edit and delete models and change schedules: not checked in advance" in body


WEEKLY = {
    "run": {"type": "WEEKLY"},
    "dataset": {"mode": "LIMIT", "limit": {"auto": False, "rows": 3000, "algorithm": "LAST_N"}},
}


def test_the_schedule_page_does_not_speak_of_an_off_schedule_as_running(
    sandbox: SandboxServer, operator: Client
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Quiet", fine_tune_schedule=None)["id"]
    sandbox.state.add_run(model_id, trigger="schedule")
    sweep()
    body = operator.get(f"/models/{model_id}/schedule/").content.decode()
    assert "The schedule is off now. When one was on, the last run" in body


def test_the_same_schedule_is_not_offered_for_confirmation(
    sandbox: SandboxServer, operator: Client
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Same", fine_tune_schedule=WEEKLY)["id"]
    same = {
        "enabled": "on",
        "cadence": "WEEKLY",
        "size": "rows",
        "rows": "3000",
        "algorithm": "LAST_N",
    }
    for step in ("preview", "confirm"):
        body = operator.post(f"/models/{model_id}/schedule/{step}/", same, **HTMX).content.decode()
        assert "nothing to save" in body and "Confirm the change" not in body
    off = operator.post(
        f"/models/{sandbox.state.add_model('ws_main', name='Off')['id']}/schedule/preview/",
        {"enabled": "off"},
        **HTMX,
    ).content.decode()
    assert "nothing to save" in off
    assert sandbox.state.count("PATCH", r".*") == 0


def test_a_schedule_turned_off_says_no_run_starts_on_its_own(
    sandbox: SandboxServer, operator: Client
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Quiet")["id"]
    body = operator.get(
        f"/models/{model_id}/schedule/summary/",
        {"enabled": "off", "cadence": "DAILY", "model_name": "Quiet"},
        **HTMX,
    ).content.decode()
    assert "The schedule is off: no fine-tune runs will start on their own" in body
    assert "cadence" not in body and "Daily" not in body and "Every day" not in body


def test_date_filters_are_written_as_every_other_day(login_as: Any) -> None:
    viewer = login_as(Role.VIEWER)
    body = viewer.get("/runs/", {"since": "2026-11-01", "until": "27 Nov 2026"}).content.decode()
    assert 'value="01 Nov 2026"' in body and 'value="27 Nov 2026"' in body
    assert 'type="date"' not in body


def test_the_audit_dates_are_the_browsers_date_inputs(login_as: Any) -> None:
    viewer = login_as(Role.VIEWER)
    body = viewer.get("/audit/", {"since": "2026-11-01", "until": "27 Nov 2026"}).content.decode()
    assert has_html(body, '<input type="date" name="since" value="2026-11-01" id="id_since">')
    assert has_html(body, '<input type="date" name="until" value="2026-11-27" id="id_until">')


def test_a_member_chooses_their_time_zone(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    audit_record(
        actor=Actor(None, "system"),
        action="model.update",
        outcome="succeeded",
        target=Target("model", "m1", "M"),
    )
    event = AuditEvent.objects.get()
    response = member.post(
        "/account/notifications/", {"email": "", "email_my_runs": "on", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 302
    body = member.get("/audit/").content.decode()
    assert "Times are shown in Asia/Tokyo" in body
    from zoneinfo import ZoneInfo

    tokyo = event.created_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
    assert tokyo in body  # the hover text of each time, in the member's zone
    other = login_as(Role.VIEWER, username="elsewhere")
    assert "Times are shown in UTC" in other.get("/audit/").content.decode()


def test_an_unknown_time_zone_is_refused(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    response = member.post("/account/notifications/", {"time_zone": "Mars/Olympus"})
    assert response.status_code == 422


def test_searching_models_matches_descriptions(sandbox: SandboxServer, operator: Client) -> None:
    sandbox.state.add_model("ws_main", name="Plain", description="Answers about invoices")
    body = operator.get("/models/", {"q": "invoices"}).content.decode()
    assert "Plain" in body


def test_the_audit_log_filters_by_model_name(sandbox: SandboxServer, operator: Client) -> None:
    sweep()
    model_id, name = next(
        (k, v["name"]) for k, v in sandbox.state.models.items() if v["_workspace"] == "ws_main"
    )
    audit_record(
        actor=Actor(None, "system"),
        action="model.update",
        outcome="succeeded",
        target=Target("model", model_id, name),
    )
    audit_record(
        actor=Actor(None, "system"),
        action="model.update",
        outcome="succeeded",
        target=Target("model", "other", "Other"),
    )
    body = operator.get("/audit/").content.decode()
    assert has_html(body, f'<option value="{model_id}">{name}</option>')
    filtered = operator.get("/audit/", {"model": model_id}).content.decode()
    assert filtered.count("<tr") == 2  # the header and the one event


def test_an_automatic_size_is_unchanged_whatever_the_rows_field_held(
    sandbox: SandboxServer, operator: Client
) -> None:
    auto = {
        "run": {"type": "WEEKLY"},
        "dataset": {"mode": "LIMIT", "limit": {"auto": True, "algorithm": "LAST_N"}},
    }
    model_id = sandbox.state.add_model("ws_main", name="Auto", fine_tune_schedule=auto)["id"]
    same = {
        "enabled": "on",
        "cadence": "WEEKLY",
        "size": "auto",
        "rows": "4000",
        "algorithm": "LAST_N",
    }
    body = operator.post(f"/models/{model_id}/schedule/preview/", same, **HTMX).content.decode()
    assert "nothing to save" in body


def test_the_time_zone_picker_leads_with_common_zones_and_offers_no_odd_names(
    login_as: Any,
) -> None:
    from console.forms.accounts import offered_zones, zone_choices

    zones = offered_zones()
    assert "Europe/Lisbon" in zones and "Asia/Kolkata" in zones and "UTC" in zones
    for odd in ("Etc/GMT+5", "Etc/GMT-3", "W-SU", "Asia/Calcutta", "US/Pacific", "localtime"):
        assert odd not in zones, odd
    choices = zone_choices()
    assert choices[0][0] == "Common"
    common = dict(choices[0][1])
    assert common["UTC"] == "UTC (UTC+0)"
    assert common["Asia/Kolkata"] == "Asia/Kolkata (UTC+5:30)"
    regions = [label for label, _ in choices[1:]]
    assert regions == sorted(regions) and "Europe" in regions
    body = login_as(Role.VIEWER).get("/account/notifications/").content.decode()
    assert '<optgroup label="Common">' in body and "data-browser-zone" in body
    assert 'value="Etc/GMT+5"' not in body


def test_a_zone_saved_under_an_old_name_stays_a_choice(login_as: Any) -> None:
    from console.models import MemberSettings

    member = login_as(Role.VIEWER)
    MemberSettings.objects.create(user=member.user, time_zone="Asia/Calcutta")
    body = member.get("/account/notifications/").content.decode()
    assert 'value="Asia/Calcutta" selected' in body and "an older name" in body
    saved = member.post(
        "/account/notifications/", {"time_zone": "Asia/Calcutta", "theme": "system"}
    )
    assert saved.status_code == 302
