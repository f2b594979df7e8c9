"""The worker's sweeps: a fresh mirror fills, runs end and are told once, failures back off."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.core import mail
from django.db import close_old_connections
from django.utils import timezone

from console import tasks
from console.models import (
    ModelSyncState,
    Notice,
    RunRecord,
    RunSubmission,
    RunTransition,
    SweepState,
)
from console.roles import Role
from console.services import sweeps
from console.services.runs import RunSettings, run_prepare, run_start
from drgero_client.sandbox import SandboxServer
from tests.console.worker import queued_names, run_queued, sweep

pytestmark = pytest.mark.django_db

RUNS_GET = r"/api/models/[^/]+/fine-tune/runs"
SETTINGS = RunSettings(
    auto=False, rows=1000, algorithm="LAST_N", create_synthetic_data=False, hypertuning_enabled=True
)


def workspace_runs(sandbox: SandboxServer, workspace: str = "ws_main") -> set[str]:
    return {r.id for r in sandbox.state.runs.values() if r.workspace_id == workspace}


def started_run(sandbox: SandboxServer, member: Any) -> RunRecord:
    model_id = sandbox.state.add_model("ws_main", name="Quiet Model")["id"]
    submission = run_prepare(
        user=member, model_id=model_id, model_name="Quiet Model", settings=SETTINGS
    )
    assert run_start(user=member, submission_id=submission.pk).started
    submission.refresh_from_db()
    return RunRecord.objects.get(run_id=submission.run_id)


def test_a_fresh_mirror_fills_from_one_discovery_sweep(
    sandbox: SandboxServer, make_member: Any
) -> None:
    make_member("reader", Role.VIEWER, token="drgero_sandbox_readonly")
    report = sweep()
    assert report.ok
    assert set(RunRecord.objects.values_list("run_id", flat=True)) == workspace_runs(sandbox)
    models = {m["id"] for m in sandbox.state.models.values() if m["_workspace"] == "ws_main"}
    assert set(ModelSyncState.objects.values_list("model_id", flat=True)) == models
    # One list of models, and exactly one list-runs call per model.
    assert sandbox.state.count("GET", RUNS_GET) == len(models)
    assert {r.method for r in sandbox.state.seen} == {"GET"}
    assert RunTransition.objects.filter(from_status="").count() == RunRecord.objects.count()


def test_the_active_sweep_reads_only_models_with_open_runs(
    sandbox: SandboxServer, make_member: Any
) -> None:
    make_member("reader", Role.VIEWER, token="drgero_sandbox_full")
    sweep()
    sandbox.state.seen.clear()
    open_models = set(
        RunRecord.objects.filter(category__in=("queued", "running")).values_list(
            "model_id", flat=True
        )
    )
    assert open_models  # the demo seed has one queued and one running run
    sweep("active")
    assert sandbox.state.count("GET", RUNS_GET) == len(open_models)
    sandbox.state.clock.advance(7200)
    sweep("active")
    sandbox.state.seen.clear()
    report = sweep("active")  # nothing open any more: no call at all
    assert report.ok and report.calls == 0 and sandbox.state.seen == []


def test_a_run_end_updates_every_page_and_is_told_once(
    sandbox: SandboxServer, make_member: Any, login_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    member = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    member.email = "op@example.org"
    member.save()
    record = started_run(sandbox, member)
    sandbox.state.clock.advance(30)
    sweep("active")
    sandbox.state.clock.advance(7200)
    with django_capture_on_commit_callbacks(execute=True):  # the commit enqueues the emails
        sweep("active")
        sweep("active")  # seeing the same end again tells nobody twice
        sweep()
    record.refresh_from_db()
    assert record.category == "succeeded"
    steps = list(
        RunTransition.objects.filter(run=record).order_by("pk").values_list("to_status", flat=True)
    )
    assert steps == ["QUEUED", "RUNNING", "SUCCEEDED"]
    notices = Notice.objects.filter(user=member, kind="run_ended")
    assert notices.count() == 1 and "Quiet Model succeeded" in notices[0].text
    run_queued()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["op@example.org"]
    assert "Quiet Model" in mail.outbox[0].subject and "succeeded" in mail.outbox[0].subject
    assert f"/models/{record.model_id}/runs/" in mail.outbox[0].body
    assert "Choose which emails you get on Your settings: " in mail.outbox[0].body
    assert "/account/notifications/" in mail.outbox[0].body
    viewer = login_as(Role.VIEWER, token="drgero_sandbox_readonly")
    listing = viewer.get("/models/?q=Quiet").content.decode()
    history = viewer.get("/runs/").content.decode()
    assert "Succeeded" in listing and "Succeeded" in history
    # The toast arrives on the member's next page, once.
    page = login_as_member(member).get("/runs/").content.decode()
    assert "Quiet Model succeeded" in page
    assert f'<a href="/runs/{record.run_id}/">See the run</a>' in page
    again = login_as_member(member).get("/runs/").content.decode()
    assert "Quiet Model succeeded" not in again


def login_as_member(member: Any) -> Any:
    from django.test import Client

    client = Client()
    client.force_login(member)
    return client


def test_a_failure_names_the_reason_and_reaches_members_who_watch_failures(
    sandbox: SandboxServer, make_member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from console.models import MemberSettings

    starter = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    starter.email = "op@example.org"
    starter.save()
    MemberSettings.objects.create(user=starter, email_my_runs=False)
    watcher = make_member("lead", Role.VIEWER)
    watcher.email = "lead@example.org"
    watcher.save()
    MemberSettings.objects.create(user=watcher, email_team_failures=True)
    sandbox.state.set_next_outcome("FAILED", "Out of memory on the training node.")
    started_run(sandbox, starter)
    sandbox.state.clock.advance(7200)
    with django_capture_on_commit_callbacks(execute=True):
        sweep("active")
    run_queued()
    assert [m.to for m in mail.outbox] == [["lead@example.org"]]  # the starter opted out
    assert "Out of memory on the training node" in mail.outbox[0].body
    notice = Notice.objects.get(user=starter)
    assert "failed" in notice.text and "Out of memory" in notice.text and notice.level == "error"


def test_two_workers_sweeping_at_once_make_one_set_of_calls_and_one_notice(
    sandbox: SandboxServer, make_member: Any, transactional_db: None
) -> None:
    member = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    started_run(sandbox, member)
    sandbox.state.clock.advance(7200)
    (chain_id,) = [c for n, c in sweeps.chains_revive() if n == "active"]
    sandbox.state.seen.clear()
    sandbox.state.latency_ms = 300  # both workers are inside the sweep at the same time
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        try:
            tasks.sweep.call_local("active", chain_id)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sandbox.state.count("GET", RUNS_GET) == 1
    assert Notice.objects.filter(user=member, kind="run_ended").count() == 1


def test_a_failing_sweep_backs_off_keeps_the_mirror_and_says_so(
    sandbox: SandboxServer, make_member: Any, login_as: Any
) -> None:
    make_member("reader", Role.VIEWER, token="drgero_sandbox_full")
    sweep()
    before = RunRecord.objects.count()
    (chain_id,) = [c for n, c in sweeps.chains_revive() if n == "discovery"]
    sandbox.arm(RUNS_GET, status=503)
    first = sweeps.chain_link("discovery", chain_id)
    second = sweeps.chain_link("discovery", chain_id)
    assert first is not None and second is not None
    assert first > sweeps.interval("discovery") and second > first  # backing off
    state = SweepState.objects.get(name="discovery")
    assert state.failures == 2 and state.failing_since is not None
    assert RunRecord.objects.count() == before
    page = login_as(Role.VIEWER).get("/runs/").content.decode()
    assert "could not be reached since" in page and "may be out of date" in page
    sandbox.state.clear_faults()
    assert sweeps.chain_link("discovery", chain_id) == sweeps.interval("discovery")
    page = login_as(Role.VIEWER, username="v2").get("/runs/").content.decode()
    assert "could not be reached" not in page and "Last checked with Dr.Gero" in page


def test_rate_limits_wait_at_least_as_long_as_dr_gero_asks(
    sandbox: SandboxServer, make_member: Any
) -> None:
    make_member("reader", Role.VIEWER, token="drgero_sandbox_full")
    (chain_id,) = [c for n, c in sweeps.chains_revive() if n == "discovery"]
    sandbox.arm(r"/api/models", status=429, headers={"Retry-After": "400"})
    delay = sweeps.chain_link("discovery", chain_id)
    assert delay is not None and delay >= 400


def test_deleted_models_keep_their_history(
    sandbox: SandboxServer, make_member: Any, login_as: Any
) -> None:
    make_member("reader", Role.VIEWER, token="drgero_sandbox_full")
    sweep()
    model_id, runs = next(
        (m, n)
        for m, n in (
            (m, RunRecord.objects.filter(model_id=m).count()) for m in sandbox.state.models
        )
        if n
    )
    with sandbox.state.lock:
        del sandbox.state.models[model_id]
    sweep()
    state = ModelSyncState.objects.get(pk=model_id)
    assert state.deleted_at is not None
    assert RunRecord.objects.filter(model_id=model_id).count() == runs
    page = login_as(Role.VIEWER).get(f"/models/{model_id}/runs/").content.decode()
    assert "deleted in Dr.Gero" in page
    sandbox.state.seen.clear()
    sweep()
    assert sandbox.state.count("GET", f"/api/models/{model_id}/fine-tune/runs") == 0


def test_no_usable_token_is_said_in_plain_words(sandbox: SandboxServer, login_as: Any) -> None:
    viewer = login_as(Role.VIEWER)
    report = sweep()
    assert report.ok and report.calls == 0 and sandbox.state.seen == []
    page = viewer.get("/runs/").content.decode()
    assert "No runs yet" not in page
    assert "cannot read the team's runs" in page and "My token" in page


def test_a_stale_chain_ends_and_a_late_chain_is_restarted(
    sandbox: SandboxServer, make_member: Any
) -> None:
    make_member("reader", Role.VIEWER, token="drgero_sandbox_full")
    started = dict(sweeps.chains_revive())
    assert set(started) == {"discovery", "active"}
    assert sweeps.chains_revive() == []  # on time: left alone
    assert sweeps.chains_revive(restart_all=True) == []  # just started: left alone too
    SweepState.objects.update(
        next_due_at=timezone.now() - sweeps.CHAIN_GRACE * 2,
        chain_started_at=timezone.now() - sweeps.CHAIN_GRACE * 3,
    )
    revived = dict(sweeps.chains_revive())
    assert set(revived) == {"discovery", "active"}
    assert sweeps.chain_link("discovery", started["discovery"]) is None  # replaced
    assert sweeps.chain_link("discovery", revived["discovery"]) is not None


def test_a_sweep_link_schedules_the_next_one(sandbox: SandboxServer, make_member: Any) -> None:
    make_member("reader", Role.VIEWER, token="drgero_sandbox_full")
    tasks.sweeps_start.call_local()
    assert sorted(queued_names()) == ["sweep", "sweep"]
    run_queued()
    from huey.contrib.djhuey import HUEY

    scheduled = sorted(t.args[0] for t in HUEY.scheduled())
    assert scheduled == ["active", "discovery"]
    assert RunRecord.objects.exists()


def test_an_unknown_start_is_resolved_by_the_active_sweep(
    sandbox: SandboxServer, make_member: Any
) -> None:
    member = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Unsure")["id"]
    sandbox.arm(r"/api/models/[^/]+/fine-tune/run", method="POST", kind="drop", apply=True)
    sandbox.arm(RUNS_GET, method="GET", status=503, times=20)
    submission = run_prepare(user=member, model_id=model_id, model_name="Unsure", settings=SETTINGS)
    result = run_start(user=member, submission_id=submission.pk)
    assert not result.started
    sandbox.state.clear_faults()
    sweep("active")
    submission = RunSubmission.objects.get(pk=submission.pk)
    assert submission.state == "succeeded" and submission.run_id
    record = RunRecord.objects.get(run_id=submission.run_id)
    assert record.started_by == member and record.origin == "console"


def test_a_token_that_stopped_working_is_skipped_and_logged_without_itself(
    sandbox: SandboxServer, make_member: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stale = make_member("stale", Role.VIEWER, token="drgero_sandbox_revoked_0000")
    caplog.set_level(logging.DEBUG)
    report = sweep()
    assert not report.ok and "refused" in report.error
    assert SweepState.objects.get(name="discovery").failing_since is not None
    make_member("reader", Role.VIEWER, token="drgero_sandbox_readonly")
    assert sweep().ok and RunRecord.objects.exists()
    assert stale.pk and "drgero_sandbox_" not in caplog.text
    assert "refused listing models (401)" in caplog.text


def test_an_old_unconfirmed_start_is_no_longer_watched(
    sandbox: SandboxServer, make_member: Any
) -> None:
    member = make_member("op", Role.OPERATOR)
    fresh = RunSubmission.objects.create(
        user=member, model_id="m-fresh", settings={}, state="unknown"
    )
    old = RunSubmission.objects.create(user=member, model_id="m-old", settings={}, state="unknown")
    RunSubmission.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - sweeps.UNKNOWN_START_WATCH * 2
    )
    assert fresh.model_id in sweeps.watched_models()
    assert "m-old" not in sweeps.watched_models()
