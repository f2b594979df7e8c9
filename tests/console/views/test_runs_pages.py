"""Run pages: the start form, history filters and pages, the chart, the CSV export."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from console.models import RunRecord, RunSubmission
from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import HTMX

pytestmark = pytest.mark.django_db


def record(n: int, **fields: Any) -> RunRecord:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    defaults = {
        "run_id": f"r{n}",
        "model_id": "m1",
        "model_name": "Model One",
        "status": "SUCCEEDED",
        "category": "succeeded",
        "created_at": now - timedelta(hours=n),
        "origin": "external",
        "first_seen_at": now,
        "duration_seconds": 60 * n,
        "dataset_auto": False,
        "dataset_rows": 1000,
        "dataset_algorithm": "LAST_N",
    }
    defaults.update(fields)
    return RunRecord.objects.create(**defaults)


@pytest.fixture
def operator(login_as: Any) -> Client:
    return login_as(Role.OPERATOR, token="drgero_sandbox_full")


def a_model(sandbox: SandboxServer) -> str:
    return sandbox.state.add_model("ws_main", name="Support Assistant")["id"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("", "Enter how many rows"),
        ("0", "at least 1 row"),
        ("-5", "at least 1 row"),
        ("1.5", "whole number"),
        ("ten", "whole number"),
        ("10000001", "At most 10,000,000"),
    ],
)
def test_bad_rows_are_refused_at_the_field_and_nothing_is_prepared(
    operator: Client, sandbox: SandboxServer, rows: str, message: str
) -> None:
    model_id = a_model(sandbox)
    response = operator.post(
        f"/models/{model_id}/runs/preview/",
        {"size": "rows", "rows": rows, "algorithm": "LAST_N"},
        **HTMX,
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not RunSubmission.objects.exists()
    assert sandbox.state.count("POST", r".*") == 0


def test_the_preview_asks_in_plain_words_then_confirm_starts(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox)
    preview = operator.post(
        f"/models/{model_id}/runs/preview/",
        {
            "size": "rows",
            "rows": "1000",
            "algorithm": "LAST_N",
            "hypertuning_enabled": "on",
        },
        **HTMX,
    )
    body = preview.content.decode()
    assert (
        "Start a fine-tune run of Support Assistant on the newest 1,000 rows, without "
        "synthetic data, with hyperparameter tuning?"
    ) in body
    assert sandbox.state.count("POST", r".*") == 0
    submission = RunSubmission.objects.get()
    done = operator.post(
        f"/models/{model_id}/runs/confirm/{str(submission.pk)}/",
        {},
        **HTMX,
    )
    submission.refresh_from_db()
    # The view goes to the new run's own page, its status focused on arrival.
    assert done["HX-Redirect"] == f"/runs/{submission.run_id}/#run-status"
    again = operator.post(
        f"/models/{model_id}/runs/confirm/{str(submission.pk)}/",
        {},
        **HTMX,
    )
    assert again["HX-Redirect"] == f"/runs/{submission.run_id}/#run-status"
    assert sandbox.state.count("POST", r"/api/models/.*/fine-tune/run") == 1
    page = operator.get(f"/models/{model_id}/runs/").content.decode()
    assert "already sent to Dr.Gero; nothing was sent again" in page


def test_a_refused_start_keeps_the_settings(operator: Client, sandbox: SandboxServer) -> None:
    model_id = a_model(sandbox)
    sandbox.arm(r"/api/models/.*/fine-tune/run", method="POST", status=402)
    operator.post(
        f"/models/{model_id}/runs/preview/",
        {"size": "rows", "rows": "2345", "algorithm": "RANDOM_SHUFFLE"},
    )
    submission = RunSubmission.objects.get()
    response = operator.post(
        f"/models/{model_id}/runs/confirm/{str(submission.pk)}/",
        {},
        **HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "paid Dr.Gero plan" in body and 'value="2345"' in body
    assert re.search(r'value="RANDOM_SHUFFLE"[^>]*checked', body)
    assert not re.search(r'value="LAST_N"[^>]*checked', body)


def test_filters_sorts_and_keyset_pages(login_as: Any) -> None:
    for n in range(1, 121):
        record(
            n,
            category="failed" if n % 3 == 0 else "succeeded",
            started_by_username="alpha" if n % 2 else "",
        )
    client = login_as(Role.VIEWER)
    first = client.get("/runs/").content.decode()
    assert "after=" in first and "before=" not in first
    failed = client.get("/runs/?status=failed").content.decode()
    assert failed.count('class="status status--failed"') == 40
    by_alpha = client.get("/runs/?started_by=alpha&sort=longest", **HTMX).content.decode()
    assert by_alpha.lstrip().startswith('<div id="runs-results">')
    assert by_alpha.count("<tr>") == 51  # header + 50


def test_keyset_pages_walk_forward_and_back_in_every_sort(login_as: Any) -> None:
    from console.selectors.runs import SORTS, RunFilters, runs_page

    for n in range(1, 131):
        record(n, duration_seconds=None if n % 7 == 0 else (n * 37) % 500)
    for sort in SORTS:
        filters = RunFilters(sort=sort)
        seen: list[str] = []
        pages = []
        page = runs_page(filters)
        while True:
            pages.append(page)
            seen += [r.run_id for r in page.runs]
            if not page.next_cursor:
                break
            page = runs_page(filters, after=page.next_cursor)
        assert len(seen) == 130 and len(set(seen)) == 130, sort
        back = runs_page(filters, before=pages[-1].prev_cursor or "")
        assert [r.run_id for r in back.runs] == [r.run_id for r in pages[-2].runs], sort


def test_the_chart_counts_runs_per_day_by_outcome(login_as: Any) -> None:
    day = datetime(2026, 11, 20, 12, tzinfo=UTC)
    record(1, created_at=day, category="succeeded")
    record(2, created_at=day, category="failed")
    record(3, created_at=day - timedelta(days=1), category="succeeded")
    body = login_as(Role.VIEWER).get("/runs/?since=2026-11-18&until=2026-11-20").content.decode()
    assert "Runs per day from 18 Nov to 20 Nov 2026: 2 succeeded, 1 failed." in body
    assert body.count('class="chart__bar chart__bar--succeeded"') == 2
    assert body.count('class="chart__bar chart__bar--failed"') == 1
    assert 'role="img"' in body


def test_the_csv_export_is_the_whole_filtered_set_streamed_and_neutralised(login_as: Any) -> None:
    for n in range(1, 70):
        record(
            n,
            category="failed" if n <= 60 else "succeeded",
            error="=cmd|' /C calc'!A0" if n == 1 else "",
        )
    response = login_as(Role.VIEWER).get("/runs/export.csv?status=failed")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 61 and rows[0][0] == "run_id"
    errors = [r[rows[0].index("error")] for r in rows[1:] if r[0] == "r1"]
    assert errors == ["'=cmd|' /C calc'!A0"]


def test_the_model_export_only_has_that_model(login_as: Any) -> None:
    record(1)
    record(2, model_id="m2", run_id="other")
    response = login_as(Role.VIEWER).get("/models/m1/runs/export.csv")
    body = b"".join(response.streaming_content).decode()
    assert "r1" in body and "other" not in body


def test_pause_stops_polling_and_resume_brings_it_back(
    login_as: Any, sandbox: SandboxServer
) -> None:
    record(1, category="running", status="RUNNING")
    client = login_as(Role.VIEWER)
    live = client.get("/runs/").content.decode()
    assert 'hx-trigger="every 5s"' in live and "Pause live updates" in live
    paused = client.get("/runs/?live=off", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="runs-table")
    body = paused.content.decode()
    assert body.lstrip().startswith('<div id="runs-table"') and "hx-trigger" not in body
    assert "Resume" in body


def test_the_chart_counts_days_in_the_display_time_zone(login_as: Any, settings: Any) -> None:
    settings.TIME_ZONE = "America/New_York"
    record(1, created_at=datetime(2026, 11, 20, 2, tzinfo=UTC))  # 19 Nov, 21:00 in New York
    record(2, created_at=datetime(2026, 11, 20, 15, tzinfo=UTC))  # 20 Nov in New York
    body = login_as(Role.VIEWER).get("/runs/?since=2026-11-19&until=2026-11-20").content.decode()
    assert "19 Nov: 1 succeeded" in body and "20 Nov: 1 succeeded" in body


def test_the_csv_writes_every_run_as_the_record_has_it(login_as: Any) -> None:
    started = datetime(2026, 11, 20, 12, 0, 0, 398160, tzinfo=UTC)  # PostgreSQL drops the 0
    record(1, started_at=started, finished_at=started + timedelta(minutes=5))
    record(2, create_synthetic_data=True, hypertuning_enabled=False, started_at=None)
    response = login_as(Role.VIEWER).get("/runs/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_id = {r["run_id"]: r for r in rows}
    for run in RunRecord.objects.all():
        row = by_id[run.run_id]
        assert row["created_at"] == run.created_at.isoformat()
        assert row["started_at"] == (run.started_at.isoformat() if run.started_at else "")
        assert row["finished_at"] == (run.finished_at.isoformat() if run.finished_at else "")
        for name in ("create_synthetic_data", "hypertuning_enabled"):
            value = getattr(run, name)
            assert row[name] == ("" if value is None else str(value)), name
    assert by_id["r1"]["started_at"] == "2026-11-20T12:00:00.398160+00:00"
    assert by_id["r2"]["create_synthetic_data"] == "True"
    assert by_id["r2"]["hypertuning_enabled"] == "False"


def test_the_why_of_a_run_goes_with_it_everywhere_but_run_again(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox)
    preview = operator.post(
        f"/models/{model_id}/runs/preview/", {"size": "rows", "rows": "1000", "algorithm": "LAST_N"}
    )
    assert "Why are you starting this run? (optional)" in preview.content.decode()
    submission = RunSubmission.objects.get()
    operator.post(
        f"/models/{model_id}/runs/confirm/{submission.pk}/",
        {"note": "Support tickets doubled since Monday"},
    )
    run = RunRecord.objects.get(model_id=model_id, origin="console")
    assert run.note == "Support tickets doubled since Monday"
    history = operator.get(f"/models/{model_id}/runs/").content.decode()
    assert "“Support tickets doubled since Monday”" in history
    export = operator.get(f"/models/{model_id}/runs/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0]["note"] == "Support tickets doubled since Monday"
    again = operator.get(f"/models/{model_id}/runs/new/?from={run.run_id}").content.decode()
    assert "Support tickets doubled" not in again
    from console.models import AuditEvent

    event = AuditEvent.objects.get(action="run.start")
    assert json.loads(event.changes)["note"] == "Support tickets doubled since Monday"


def test_a_run_without_a_why_says_nothing_about_it(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox)
    operator.post(
        f"/models/{model_id}/runs/preview/", {"size": "rows", "rows": "1000", "algorithm": "LAST_N"}
    )
    submission = RunSubmission.objects.get()
    operator.post(f"/models/{model_id}/runs/confirm/{submission.pk}/", {"note": "   "})
    run = RunRecord.objects.get(model_id=model_id, origin="console")
    assert run.note == ""
    page = operator.get(f"/runs/{run.run_id}/").content.decode()
    assert "<dt>Why</dt>" not in page
    from console.models import AuditEvent

    assert "note" not in json.loads(AuditEvent.objects.get(action="run.start").changes)


def test_a_too_long_why_starts_nothing(operator: Client, sandbox: SandboxServer) -> None:
    model_id = a_model(sandbox)
    operator.post(
        f"/models/{model_id}/runs/preview/", {"size": "rows", "rows": "1000", "algorithm": "LAST_N"}
    )
    submission = RunSubmission.objects.get()
    response = operator.post(
        f"/models/{model_id}/runs/confirm/{submission.pk}/", {"note": "y" * 501}
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "at most 500 characters" in body and "y" * 501 in body
    assert sandbox.state.count("POST", r"/api/models/.*/fine-tune/run") == 0
    submission.refresh_from_db()
    assert submission.state == "pending"  # it can still be confirmed
