"""Runs: one run per intent, unknown outcomes resolved, the mirror, polling and sync_runs."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.test import Client

from console.models import AuditEvent, DrGeroToken, RunRecord, RunSubmission
from console.roles import Role
from console.services.mirror import mirror_upsert
from console.services.run_checks import run_sync
from console.services.runs import (
    RunSettings,
    run_prepare,
    run_sentence,
    run_start,
)
from console.vocabulary import status_category
from drgero_client import Run
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import HTMX
from tests.console.worker import sweep

SETTINGS = RunSettings(
    auto=False, rows=1000, algorithm="LAST_N", create_synthetic_data=False, hypertuning_enabled=True
)
RUN_POST = r"/api/models/[^/]+/fine-tune/run"


def idle_model(sandbox: SandboxServer, name: str = "Support Assistant") -> str:
    return sandbox.state.add_model("ws_main", name=name)["id"]


def test_the_confirmation_sentence() -> None:
    assert run_sentence("Support Assistant", SETTINGS) == (
        "Start a fine-tune run of Support Assistant on the newest 1,000 rows, without synthetic "
        "data, with hyperparameter tuning?"
    )
    auto = RunSettings(True, None, "WEIGHTED_SHUFFLE", True, False)
    assert run_sentence("M", auto) == (
        "Start a fine-tune run of M on an automatically sized set of weighted-sampled rows, "
        "with synthetic data, without hyperparameter tuning?"
    )


@pytest.mark.parametrize(
    ("status", "category"),
    [
        ("QUEUED", "queued"),
        ("pending", "queued"),
        ("In_Progress", "running"),
        ("running", "running"),
        ("COMPLETED", "succeeded"),
        ("succeeded", "succeeded"),
        ("error", "failed"),
        ("FAILED", "failed"),
        ("canceled", "cancelled"),
        ("CANCELLED", "cancelled"),
        ("WARMING_UP", "unknown"),
        ("", "unknown"),
    ],
)
def test_status_synonyms(status: str, category: str) -> None:
    assert status_category(status) == category


@pytest.mark.django_db
def test_an_unknown_status_stays_visible_as_sent() -> None:
    run = Run.from_api({"id": "r1", "status": "WARMING_UP", "created_at": "2026-01-01T00:00:00Z"})
    (record,) = mirror_upsert(model_id="m1", runs=[run], model_name="M")
    assert (record.status, record.category, record.origin) == ("WARMING_UP", "unknown", "external")


@pytest.mark.django_db
def test_a_started_run_is_mirrored_with_who_started_it(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = idle_model(sandbox)
    submission = run_prepare(
        user=user, model_id=model_id, model_name="Support Assistant", settings=SETTINGS
    )
    result = run_start(user=user, submission_id=submission.pk)
    assert result.started
    record = RunRecord.objects.get(model_id=model_id)
    assert (record.started_by, record.origin, record.category) == (user, "console", "queued")
    assert (record.dataset_rows, record.dataset_algorithm) == (1000, "LAST_N")
    event = AuditEvent.objects.get(action="run.start")
    assert event.outcome == "succeeded" and json.loads(event.changes)["settings"]["rows"] == 1000


@pytest.mark.django_db
def test_a_second_confirm_of_the_same_intent_sends_nothing(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    submission = run_prepare(
        user=user, model_id=idle_model(sandbox), model_name="M", settings=SETTINGS
    )
    run_start(user=user, submission_id=submission.pk)
    again = run_start(user=user, submission_id=submission.pk)
    assert again.duplicate
    assert sandbox.state.count("POST", RUN_POST) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirms_give_one_call_and_one_row(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = idle_model(sandbox)
    submission = run_prepare(user=user, model_id=model_id, model_name="M", settings=SETTINGS)
    sandbox.state.latency_ms = 100
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def confirm() -> None:
        client = Client()
        client.force_login(user)
        barrier.wait()
        response = client.post(f"/models/{model_id}/runs/confirm/{str(submission.pk)}/", {})
        statuses.append(response.status_code)
        close_old_connections()
        connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [302, 302]
    assert sandbox.state.count("POST", RUN_POST) == 1
    assert RunRecord.objects.filter(model_id=model_id).count() == 1
    assert AuditEvent.objects.filter(action="run.start").count() == 1


@pytest.mark.django_db
def test_a_model_with_an_active_run_is_refused_before_dr_gero(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = idle_model(sandbox)
    sandbox.state.add_run(model_id)  # queued now, started elsewhere
    submission = run_prepare(user=user, model_id=model_id, model_name="M", settings=SETTINGS)
    result = run_start(user=user, submission_id=submission.pk)
    assert result.refused_active is not None and not result.started
    assert sandbox.state.count("POST", RUN_POST) == 0
    assert AuditEvent.objects.get(action="run.start").outcome == "failed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fault",
    [{"status": 502}, {"kind": "delay", "delay_s": 0.9}, {"kind": "drop"}],
    ids=["502", "read-timeout", "dropped"],
)
def test_an_unknown_start_is_sent_once_and_resolved_by_the_sync(
    sandbox: SandboxServer, make_member: Any, fault: dict
) -> None:
    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = idle_model(sandbox)
    sandbox.arm(RUN_POST, method="POST", apply=True, **fault)
    submission = run_prepare(user=user, model_id=model_id, model_name="M", settings=SETTINGS)
    result = run_start(user=user, submission_id=submission.pk)
    assert sandbox.state.count("POST", RUN_POST) == 1
    assert result.started
    first, second = AuditEvent.objects.order_by("seq").filter(action__startswith="run.start")
    assert (first.action, first.outcome) == ("run.start", "unknown")
    assert (second.action, second.outcome, second.refers_to_seq) == (
        "run.start.resolved",
        "succeeded",
        first.seq,
    )
    record = RunRecord.objects.get(model_id=model_id)
    assert (record.started_by, record.origin) == (user, "console")
    assert RunSubmission.objects.get(pk=submission.pk).run_id == record.run_id


@pytest.mark.django_db
def test_an_unknown_start_with_no_match_stays_unknown_and_says_what_to_check(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = idle_model(sandbox)
    sandbox.arm(RUN_POST, method="POST", status=502)  # refused before creating anything
    submission = run_prepare(user=user, model_id=model_id, model_name="M", settings=SETTINGS)
    result = run_start(user=user, submission_id=submission.pk)
    assert not result.started and result.problem is not None
    assert "Check this model's run history" in result.problem.message
    assert RunSubmission.objects.get(pk=submission.pk).state == "unknown"
    assert not AuditEvent.objects.filter(action="run.start.resolved").exists()


@pytest.mark.django_db
def test_a_later_sync_now_resolves_a_pending_unknown_start(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = idle_model(sandbox)
    submission = run_prepare(user=user, model_id=model_id, model_name="M", settings=SETTINGS)
    # The start reaches Dr.Gero but its answer is lost, and reading runs back fails too.
    sandbox.arm(RUN_POST, method="POST", status=502, apply=True, times=1)
    sandbox.arm(r"/api/models/[^/]+/fine-tune/runs", method="GET", status=500)
    assert not run_start(user=user, submission_id=submission.pk).started
    sandbox.state.clear_faults()
    assert run_sync(user=user, model_id=model_id).ok
    assert RunSubmission.objects.get(pk=submission.pk).state == "succeeded"
    assert AuditEvent.objects.filter(action="run.start.resolved").count() == 1
    assert RunRecord.objects.get(model_id=model_id).started_by == user


def an_operator_with_a_preview(sandbox: SandboxServer, make_member: Any) -> tuple[Any, ...]:
    """A signed-in Operator, an idle model, and a run start they previewed."""
    from django.test import Client

    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    client = Client()
    client.force_login(user)
    model_id = idle_model(sandbox)
    submission = run_prepare(user=user, model_id=model_id, model_name="M", settings=SETTINGS)
    return user, client, model_id, submission


@pytest.mark.django_db
def test_the_page_of_an_unknown_start_leads_to_the_run_it_became(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user, client, model_id, submission = an_operator_with_a_preview(sandbox, make_member)
    sandbox.arm(RUN_POST, method="POST", status=502, apply=True, times=1)
    sandbox.arm(r"/api/models/[^/]+/fine-tune/runs", method="GET", status=500)
    assert not run_start(user=user, submission_id=submission.pk).started
    page = f"/runs/{submission.pk}/"
    assert client.get(page).status_code == 200  # the unknown start's own page, meanwhile
    sandbox.state.clear_faults()
    assert run_sync(user=user, model_id=model_id).ok
    run_id = RunRecord.objects.get(model_id=model_id).run_id
    led = client.get(page)
    assert led.status_code == 302 and led["Location"] == f"/runs/{run_id}/"
    assert client.get(led["Location"]).status_code == 200


@pytest.mark.django_db
def test_the_page_of_a_start_that_became_no_run_says_so(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user, client, model_id, submission = an_operator_with_a_preview(sandbox, make_member)
    RunSubmission.objects.filter(pk=submission.pk).update(state="failed")
    led = client.get(f"/runs/{submission.pk}/", follow=True)
    assert led.redirect_chain[-1][0] == f"/models/{model_id}/runs/"
    assert "did not become a run" in led.content.decode()
    assert client.get("/runs/00000000-0000-0000-0000-00000000abcd/").status_code == 404


@pytest.mark.django_db
def test_sync_now_needs_the_fine_tune_scope_and_is_audited(
    sandbox: SandboxServer, make_member: Any
) -> None:
    user = make_member("op", Role.OPERATOR, token="drgero_sandbox_nofinetune")
    outcome = run_sync(user=user, model_id=idle_model(sandbox))
    assert outcome.problem is not None and "models:fine-tune" in outcome.problem.message
    assert AuditEvent.objects.get(action="run.sync").outcome == "failed"
    assert DrGeroToken.objects.get(user=user).refused_scopes == ["models:fine-tune"]


@pytest.mark.django_db
def test_an_external_run_appears_with_origin_external(
    sandbox: SandboxServer, login_as: Any
) -> None:
    client = login_as(Role.VIEWER, token="drgero_sandbox_readonly")
    model_id = idle_model(sandbox)
    sandbox.state.add_run(model_id, trigger="schedule")
    sweep()
    body = client.get(f"/models/{model_id}/runs/").content.decode()
    record = RunRecord.objects.get(model_id=model_id)
    assert record.origin == "external" and record.started_by is None
    assert "Outside" in body


@pytest.mark.django_db
def test_polling_stops_when_nothing_is_active(sandbox: SandboxServer, login_as: Any) -> None:
    client = login_as(Role.VIEWER, token="drgero_sandbox_full")
    model_id = idle_model(sandbox)
    sandbox.state.add_run(model_id)
    page = client.get("/runs/").content.decode()  # mirror empty: nothing to poll
    assert "Live:" not in page
    sweep()
    page = client.get("/runs/").content.decode()
    assert 'hx-trigger="every 5s"' in page and "Live:" in page
    poll = client.get("/runs/?poll=1", **HTMX)
    assert poll.status_code == 200 and b'hx-trigger="every 5s"' in poll.content
    sandbox.state.clock.advance(3600)
    sweep("active")
    stop = client.get("/runs/?poll=1", **HTMX)
    assert stop.status_code == 286
    assert b"Succeeded" in stop.content and b"hx-trigger" not in stop.content


@pytest.mark.django_db
def test_pages_and_polls_never_ask_dr_gero_for_runs(sandbox: SandboxServer, login_as: Any) -> None:
    viewers = [
        login_as(Role.VIEWER, token="drgero_sandbox_full", username=f"v{i}") for i in range(3)
    ]
    model_id = idle_model(sandbox)
    sandbox.state.add_run(model_id)
    mirror_upsert(
        model_id=model_id,
        runs=[
            Run.from_api(r.to_api(sandbox.state.clock.now()))
            for r in sandbox.state.runs.values()
            if r.model_id == model_id
        ],
    )
    sandbox.state.seen.clear()
    for viewer in viewers:
        for _ in range(2):
            assert viewer.get("/runs/?poll=1", **HTMX).status_code == 200
            assert viewer.get(f"/models/{model_id}/runs/").status_code == 200
    assert sandbox.state.seen == []
    sweep("active")  # the one reader: one call for the one model with an active run
    assert sandbox.state.count("GET", r"/api/models/[^/]+/fine-tune/runs") == 1
    assert sandbox.state.count("POST", r".*") == 0
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_sync_runs_skips_inactive_members_and_unreadable_tokens(
    sandbox: SandboxServer, make_member: Any, capsys: Any
) -> None:
    gone = make_member("gone", Role.OPERATOR, token="drgero_sandbox_full")
    gone.is_active = False
    gone.save()
    broken = make_member("broken", Role.OPERATOR, token="drgero_sandbox_full")
    DrGeroToken.objects.filter(user=broken).update(ciphertext="v1:test1:AAAA")
    call_command("sync_runs")
    assert "in 0 Dr.Gero calls" in capsys.readouterr().out
    assert sandbox.state.seen == []  # nobody usable: nothing was read
    make_member("reader", Role.VIEWER, token="drgero_sandbox_readonly")
    call_command("sync_runs")
    out = capsys.readouterr().out
    assert "of 6 models" in out
    assert RunRecord.objects.count() >= 38
    assert {r.method for r in sandbox.state.seen} == {"GET"}
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_remembering_a_model_writes_only_what_changed(make_member: Any) -> None:
    from django.test.utils import CaptureQueriesContext

    from console.models import ModelSyncState
    from console.services.mirror import remember_model

    user = make_member("op", Role.OPERATOR)
    remember_model("m1", "First", actor=user)
    with CaptureQueriesContext(connection) as same:
        remember_model("m1", "First", actor=user)
    assert not any(q["sql"].startswith("UPDATE") for q in same.captured_queries)
    remember_model("m1", "Renamed")
    state = ModelSyncState.objects.get(pk="m1")
    assert (state.model_name, state.last_actor) == ("Renamed", user)
