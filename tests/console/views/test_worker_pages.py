"""Pages of the worker's era: "Sync now" hands off and shows pending, notices, email choices."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from console.models import AuditEvent, MemberSettings, ModelSyncState, Notice
from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import HTMX
from tests.console.worker import queued_names, run_queued, sweep

pytestmark = pytest.mark.django_db

SYNC_POST = r"/api/models/[^/]+/fine-tune/sync"


def test_sync_now_is_handed_to_the_worker_and_shown_pending_then_done(
    sandbox: SandboxServer, login_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Checked")["id"]
    sandbox.state.add_run(model_id)
    sweep()
    sandbox.state.seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(f"/models/{model_id}/sync/")
    assert response.status_code == 302
    assert sandbox.state.seen == []  # the page did not wait on Dr.Gero
    assert queued_names() == ["model_sync"]
    page = operator.get(f"/models/{model_id}/runs/").content.decode()
    assert "Checking Dr.Gero for updates…" in page and 'hx-trigger="every 5s"' in page
    run_queued()
    assert sandbox.state.count("POST", SYNC_POST) == 1
    assert not ModelSyncState.objects.get(pk=model_id).sync_pending
    assert AuditEvent.objects.filter(action="run.sync", outcome="succeeded").count() == 1
    page = operator.get(f"/models/{model_id}/runs/").content.decode()
    assert "Checking Dr.Gero for updates…" not in page
    assert "Checked Dr.Gero for updates of Checked: 1 run up to date." in page  # the notice
    assert "Last checked with Dr.Gero" in page


def test_a_failed_check_is_told_and_ends_the_pending_state(
    sandbox: SandboxServer, login_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Checked")["id"]
    sandbox.arm(SYNC_POST, status=500)
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(f"/models/{model_id}/sync/")
    run_queued()
    assert not ModelSyncState.objects.get(pk=model_id).sync_pending
    notice = Notice.objects.get(kind="sync_failed")
    assert "did not work" in notice.text and notice.level == "error"


def test_viewers_cannot_ask_for_a_check(sandbox: SandboxServer, login_as: Any) -> None:
    viewer = login_as(Role.VIEWER, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Checked")["id"]
    assert viewer.post(f"/models/{model_id}/sync/").status_code == 403
    assert queued_names() == []


def test_the_notices_poll_carries_new_notices_as_toasts_once(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    Notice.objects.create(
        user=member.user,
        kind="run_ended",
        level="success",
        text="The fine-tune run of Quiet Model succeeded after 2 min.",
        url="/runs/run-1/",
        created_at="2026-11-27T10:00:00Z",
    )
    first = member.get("/notices/", **HTMX)
    assert first.status_code == 204
    events = json.loads(first["HX-Trigger"])
    assert events["messages"] == [
        {
            "level": "success",
            "text": "The fine-tune run of Quiet Model succeeded after 2 min.",
            "run_ended": True,
            "url": "/runs/run-1/",
            "title": "",  # the notice names no run of the mirror
        }
    ]
    assert events["inbox"] == {"unread": 1}  # shown as a toast, still unread in the inbox
    second = member.get("/notices/", **HTMX)
    assert second.status_code == 204
    assert json.loads(second["HX-Trigger"]) == {"inbox": {"unread": 1}}


def test_the_notices_poll_does_not_keep_an_idle_session_alive(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    session = member.session
    session["_console_seen"] = 1  # long ago
    session.save()
    member.get("/notices/", **HTMX)
    assert member.session.get("_console_seen") == 1
    member.get("/runs/")
    assert member.session.get("_console_seen") != 1


def test_notices_are_one_members_own(login_as: Any) -> None:
    mine = login_as(Role.VIEWER, username="mine")
    other = login_as(Role.VIEWER, username="other")
    Notice.objects.create(
        user=mine.user, kind="sync_done", text="Only mine.", created_at="2026-11-27T10:00:00Z"
    )
    assert json.loads(other.get("/notices/", **HTMX)["HX-Trigger"]) == {"inbox": {"unread": 0}}
    assert "Only mine." in mine.get("/runs/").content.decode()


def test_a_member_chooses_which_emails_they_get(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    page = member.get("/account/notifications/").content.decode()
    assert (
        'name="email_my_runs" checked'
        in page.replace('" checked', " checked").replace(
            'type="checkbox" name="email_my_runs"', 'name="email_my_runs"'
        )
        or "checked" in page
    )
    response = member.post(
        "/account/notifications/",
        {"email": "me@example.org", "email_team_failures": "on"},
    )
    assert response.status_code == 302
    chosen = MemberSettings.objects.get(user=member.user)
    assert not chosen.email_my_runs and chosen.email_team_failures
    member.user.refresh_from_db()
    assert member.user.email == "me@example.org"


def test_a_bad_email_address_changes_nothing(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    response = member.post("/account/notifications/", {"email": "not an address"})
    assert response.status_code == 422
    assert "Enter a valid email address" in response.content.decode()
    assert not MemberSettings.objects.exists()


def test_defaults_email_my_runs_only(login_as: Any) -> None:
    member: Client = login_as(Role.VIEWER)
    page = member.get("/account/notifications/").content.decode()
    my_runs = page[
        page.index('name="email_my_runs"') - 80 : page.index('name="email_my_runs"') + 80
    ]
    team = page[
        page.index('name="email_team_failures"') - 80 : page.index('name="email_team_failures"')
        + 80
    ]
    assert "checked" in my_runs and "checked" not in team


def test_the_models_list_and_history_agree_after_a_sweep(
    sandbox: SandboxServer, login_as: Any
) -> None:
    viewer = login_as(Role.VIEWER, token="drgero_sandbox_full")
    sweep()
    listing = viewer.get("/models/").content.decode()
    assert "Latest run" in listing and listing.count("—") < listing.count("<tr")
    page = viewer.get("/runs/").content.decode()
    assert "No runs yet" not in page and "Last checked with Dr.Gero" in page
