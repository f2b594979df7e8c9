"""Recovery, tested: a lock left by a dead worker, a lost enqueue, a dead chain, a database
connection dropped mid-sweep. Time moves by changing the recorded times, never by sleeping."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from console import tasks
from console.models import Delivery, MemberSettings, RunRecord, SweepState
from console.roles import Role
from console.services import mirror, sweeps
from console.services.runs import RunSettings, run_prepare, run_start
from drgero_client.sandbox import SandboxServer
from tests.console.worker import queued_names, run_queued, run_scheduled

SETTINGS = RunSettings(
    auto=False, rows=1000, algorithm="LAST_N", create_synthetic_data=False, hypertuning_enabled=True
)


@pytest.fixture
def reader(make_member: Any) -> Any:
    return make_member("reader", Role.OPERATOR, token="drgero_sandbox_full")


@pytest.mark.django_db
def test_the_lock_loser_waits_and_a_lock_left_by_a_dead_worker_is_cleared(
    sandbox: SandboxServer, reader: Any, caplog: pytest.LogCaptureFixture
) -> None:
    chain = dict(sweeps.chains_revive())["active"]
    dead = HUEY.lock_task("sweep-active")
    dead.acquire()  # a worker took the lock and was killed before letting it go
    SweepState.objects.filter(name="active").update(last_started_at=timezone.now())

    # The loser's path: the lock is fresh, so it sweeps nothing and tries again shortly.
    tasks.sweep.call_local("active", chain)
    assert SweepState.objects.get(name="active").last_finished_at is None
    assert dead.is_locked()
    retry = [t for t in HUEY.pending() if t.name == "sweep"]
    assert [t.args for t in retry] == [("active", chain)]
    assert retry[0].eta is not None

    # Ten minutes on, the same lock is stale: it is cleared and the chain goes on.
    caplog.set_level(logging.WARNING)
    long_ago = timezone.now() - sweeps.STUCK_AFTER - timedelta(seconds=1)
    SweepState.objects.filter(name="active").update(last_started_at=long_ago)
    tasks.sweep.call_local("active", chain)
    assert not dead.is_locked()
    assert "lock left by a stopped worker" in caplog.text
    run_queued()  # the links wait in the schedule for their time
    run_scheduled()  # the next link, a few seconds later
    assert SweepState.objects.get(name="active").last_finished_at is not None


@pytest.mark.django_db
def test_a_dead_chain_is_revived_by_the_minutes_watcher(
    sandbox: SandboxServer, reader: Any
) -> None:
    sweeps.chains_revive()
    tasks.sweeps_watch.call_local()
    assert "sweep" not in queued_names()  # on time: nothing to do
    late = timezone.now() - sweeps.CHAIN_GRACE * 2
    SweepState.objects.update(next_due_at=late, chain_started_at=late)
    tasks.sweeps_watch.call_local()
    assert sorted(n for n in queued_names() if n == "sweep") == ["sweep", "sweep"]


@pytest.mark.django_db
def test_a_lost_enqueue_is_sent_again_exactly_once(
    sandbox: SandboxServer, reader: Any, django_capture_on_commit_callbacks: Any
) -> None:
    reader.email = "reader@team.example"
    reader.save()
    MemberSettings.objects.create(user=reader, email_my_runs=True)
    model_id = sandbox.state.add_model("ws_main", name="Lost")["id"]
    submission = run_prepare(user=reader, model_id=model_id, model_name="Lost", settings=SETTINGS)
    assert run_start(user=reader, submission_id=submission.pk).started
    sandbox.state.clock.advance(7200)
    with django_capture_on_commit_callbacks(execute=False):  # the flush's enqueue is lost
        sweeps.sweep_once("active")
    HUEY.flush()
    delivery = Delivery.objects.get(channel="email")
    assert delivery.attempts == 0
    tasks.sweeps_watch.call_local()
    assert "deliver" not in queued_names()  # not yet: the flush may still be on its way
    Delivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - tasks.deliveries.LOST_ENQUEUE - timedelta(seconds=1)
    )
    tasks.sweeps_watch.call_local()
    assert queued_names().count("deliver") == 1
    run_queued()
    tasks.sweeps_watch.call_local()  # tried once now: never picked up again
    assert "deliver" not in queued_names()
    assert [m.to for m in mail.outbox] == [["reader@team.example"]]
    assert Delivery.objects.get(pk=delivery.pk).state == "sent"


@pytest.mark.django_db(transaction=True)
def test_a_database_connection_dropped_mid_sweep_fails_cleanly_and_the_next_sweep_completes(
    sandbox: SandboxServer, reader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL ends a connection from the server side; SQLite has none to drop")
    model_id = sandbox.state.add_model("ws_main", name="Dropped")["id"]
    sandbox.state.add_run(model_id)
    chain = dict(sweeps.chains_revive())["discovery"]
    real = mirror.runs_refresh
    dropped: list[str] = []

    def drop_once(**kwargs: Any) -> Any:
        if not dropped:
            dropped.append(kwargs["model_id"])
            with connection.cursor() as cursor:  # the server ends this very connection
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return real(**kwargs)

    monkeypatch.setattr(sweeps, "runs_refresh", drop_once)
    delay = sweeps.chain_link("discovery", chain)
    assert delay is not None and delay > sweeps.interval("discovery")  # backs off
    state = SweepState.objects.get(name="discovery")
    assert state.failures == 1 and "database did not answer" in state.last_error
    assert sweeps.chain_link("discovery", chain) == sweeps.interval("discovery")
    state = SweepState.objects.get(name="discovery")
    assert state.failures == 0 and state.last_error == ""
    assert RunRecord.objects.filter(model_id=model_id).exists()
