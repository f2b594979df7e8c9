"""The run history's table and chart, kept per state of the runs mirror (console.fragments):
the same page as rendered fresh, new after every write that commits, relative times and the
CSRF token filled in for each request, and never one member's view for another."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from console import fragments
from console.models import MemberSettings, MirrorState, ModelSyncState, RunRecord
from console.roles import Role
from tests.console.views.test_runs_pages import record

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


@pytest.fixture(autouse=True)
def kept(settings: Any) -> Iterator[None]:
    settings.CONSOLE_FRAGMENTS = True
    fragments.forget()
    MirrorState.objects.all().delete()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield
    fragments.forget()


def _page(client: Client, path: str = "/runs/") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def _without_tokens(html: str) -> str:
    return CSRF_FIELD.sub('name="csrfmiddlewaretoken" value=""', html).replace(_hx_token(html), "")


def _hx_token(html: str) -> str:
    found = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    return found.group(1) if found else "\x01"


def test_a_kept_page_is_the_page_rendered_fresh(login_as: Any, settings: Any) -> None:
    for n in range(1, 8):
        record(n, category="running" if n == 1 else "succeeded", status="RUNNING")
    client = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    for path in ("/runs/", "/runs/?status=succeeded&sort=longest", "/models/m1/runs/"):
        kept_first = _page(client, path)
        kept_again = _page(client, path)
        settings.CONSOLE_FRAGMENTS = False
        fresh = _page(client, path)
        settings.CONSOLE_FRAGMENTS = True
        assert _without_tokens(kept_first) == _without_tokens(fresh)
        assert _without_tokens(kept_again) == _without_tokens(fresh)
        assert "\x00" not in kept_again and "&lt;\x00" not in kept_again


def test_a_kept_table_reads_nothing_from_the_runs_again(login_as: Any) -> None:
    for n in range(1, 4):
        record(n)
    client = login_as(Role.VIEWER)
    _page(client)
    with CaptureQueriesContext(connection) as seen:
        _page(client)
    runs_table = RunRecord._meta.db_table
    assert not [q for q in seen.captured_queries if runs_table in q["sql"]]


def test_every_committed_write_gives_a_new_table(
    login_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = record(1, model_name="Before")
    client = login_as(Role.VIEWER)
    assert "Before" in _page(client)
    with django_capture_on_commit_callbacks(execute=True):
        first.model_name = "Saved"
        first.save()
    assert "Saved" in _page(client)
    with django_capture_on_commit_callbacks(execute=True):
        RunRecord.objects.filter(pk=first.pk).update(model_name="Updated")
    assert "Updated" in _page(client)
    with django_capture_on_commit_callbacks(execute=True):
        record(2, model_name="Made Later")
    assert "Made Later" in _page(client)
    with django_capture_on_commit_callbacks(execute=True):
        RunRecord.objects.filter(model_name="Made Later").delete()
    assert "Made Later" not in _page(client)
    # A write whose transaction has not committed changes nothing that others are shown.
    with django_capture_on_commit_callbacks(execute=False):
        RunRecord.objects.filter(pk=first.pk).update(model_name="Uncommitted")
    assert "Updated" in _page(client)


def test_relative_times_are_those_of_each_request(login_as: Any) -> None:
    record(1, created_at=NOW - timedelta(minutes=3))
    record(2, created_at=NOW - timedelta(days=45))
    client = login_as(Role.VIEWER)
    first = _page(client)
    assert ">3 minutes ago<" in first and "06 Oct 2026" in first
    later = NOW + timedelta(minutes=40)
    with (
        mock.patch("django.utils.timezone.now", return_value=later),
        CaptureQueriesContext(connection) as seen,
    ):
        page = _page(client)
    assert ">43 minutes ago<" in page and ">3 minutes ago<" not in page and "06 Oct 2026" in page
    assert not [q for q in seen.captured_queries if RunRecord._meta.db_table in q["sql"]]


def test_each_request_gets_its_own_csrf_token_in_the_rows_forms(login_as: Any) -> None:
    record(1, category="running", status="RUNNING")
    first = login_as(Role.OPERATOR, token="drgero_sandbox_full", username="op-one")
    second = login_as(Role.OPERATOR, token="drgero_sandbox_full", username="op-two")
    one, two = _page(first), _page(second)
    tokens_one = set(CSRF_FIELD.findall(one))
    tokens_two = set(CSRF_FIELD.findall(two))
    assert tokens_one and tokens_two and not tokens_one & tokens_two
    assert fragments.CSRF_MARK not in one + two
    # The token a row's form carries is one the member's session accepts.
    row_token = next(iter(CSRF_FIELD.findall(one)))
    enforcing = Client(enforce_csrf_checks=True)
    enforcing.cookies = first.cookies
    checked = enforcing.post(
        "/models/m1/sync/", {"csrfmiddlewaretoken": row_token, "run_id": "r1", "next": "/runs/"}
    )
    assert checked.status_code != 403


def test_what_a_member_may_do_and_their_own_runs_are_never_anothers(
    login_as: Any, make_member: Any
) -> None:
    record(1, category="running", status="RUNNING")
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full", username="op")
    viewer = login_as(Role.VIEWER, username="viewer")
    assert "Check for updates" in _page(operator)
    assert "Check for updates" not in _page(viewer)
    assert "Check for updates" in _page(operator)
    mine = RunRecord.objects.get(run_id="r1")
    mine.started_by = operator.user
    mine.started_by_username = "op"
    mine.save()
    fragments.forget()  # the save's commit would have said so; the test's transaction does not
    MirrorState.objects.all().delete()
    assert "r1" in _page(operator, "/runs/?started_by=me")
    assert "/runs/r1/" not in _page(viewer, "/runs/?started_by=me")


def test_a_members_time_zone_is_kept_apart(login_as: Any) -> None:
    record(1, created_at=datetime(2026, 11, 20, 11, 0, tzinfo=UTC))
    utc = login_as(Role.VIEWER, username="in-utc")
    tokyo = login_as(Role.VIEWER, username="in-tokyo")
    MemberSettings.objects.create(user=tokyo.user, time_zone="Asia/Tokyo")
    assert "2026-11-20 11:00:00 UTC" in _page(utc)
    assert "2026-11-20 20:00:00 JST" in _page(tokyo)
    assert "2026-11-20 11:00:00 UTC" in _page(utc)


def test_hostile_text_in_a_run_cannot_pose_as_a_marker(login_as: Any) -> None:
    # PostgreSQL's text holds no NUL, so there the marker's look-alike is all it can hold.
    nul = "\x00" if connection.vendor == "sqlite" else ""
    record(1, model_name=f"<{nul}t 0.0 boom> <{nul}csrf>", error=f"<{nul}t 1e9 x>")
    page = _page(login_as(Role.OPERATOR, token="drgero_sandbox_full"))
    assert f"&lt;{nul}t 0.0 boom&gt; &lt;{nul}csrf&gt;" in page
    assert "boom" in page and "56 years ago" not in page


def test_when_the_state_cannot_be_read_nothing_is_kept(login_as: Any) -> None:
    first = record(1, model_name="Before")
    client = login_as(Role.VIEWER)
    with mock.patch("console.views.runs.mirror_state", return_value=None):
        assert "Before" in _page(client)
        RunRecord.objects.filter(pk=first.pk).update(model_name="After")  # no commit here
        assert "After" in _page(client)


def test_the_models_rows_follow_dr_geros_answer_and_the_mirror(
    login_as: Any, sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login_as(Role.VIEWER, token="drgero_sandbox_full")
    model = sandbox.state.add_model("ws_main", name="Kept Rows Model")
    first = _page(client, "/models/")
    assert "Kept Rows Model" in first
    assert _without_tokens(_page(client, "/models/")) == _without_tokens(first)
    with sandbox.state.lock:  # Dr.Gero renames it: a new answer, new rows
        sandbox.state.models[model["id"]]["name"] = "Renamed In Dr.Gero"
    renamed = _page(client, "/models/")
    assert "Renamed In Dr.Gero" in renamed and "Kept Rows Model" not in renamed
    with django_capture_on_commit_callbacks(execute=True):  # its first run, in the mirror
        ModelSyncState.objects.create(model_id=model["id"], model_name="Renamed In Dr.Gero")
        record(1, model_id=model["id"], category="failed", status="FAILED")
    with_run = _page(client, "/models/")
    assert "/runs/r1/" in with_run and "\x00" not in with_run
