"""Exactly once, with two real writers: threads with their own database connections racing on
the same run end, on PostgreSQL and on SQLite (whose IMMEDIATE transactions lock the database
the way PostgreSQL's row locks lock a run).

Each race is forced: a barrier holds the first writer at the point where, without the guard
under test, the second would read the same stale state. With the guard in place the second
writer cannot reach that point, the barrier times out, and the first goes on alone.

Which test catches which guard, when it is removed by hand:
- ``select_for_update()`` in ``mirror_upsert``: the sweep-against-check and two-sweeps races
  (two transitions to the end) — on PostgreSQL; SQLite's transactions lock it regardless.
- the notices' unique constraint and the deliveries' unique constraint:
  ``test_two_writers_telling_one_run_end_make_one_notice_and_one_delivery_each``.
- the delivery claim's attempt count: ``test_two_deliver_tasks_for_one_delivery_send_once``
  (two emails, two webhook calls).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import close_old_connections, connection, transaction
from django.db.models.query import QuerySet

from console.models import Delivery, MemberSettings, Notice, RunRecord, RunTransition
from console.roles import Role
from console.services import mirror
from console.services.deliveries import delivery_send
from console.services.notices import run_ended
from console.services.run_checks import run_sync
from console.services.runs import RunSettings, run_prepare, run_start
from console.services.webhook import webhook_save
from drgero_client.sandbox import SandboxServer
from tests.console.webhook_receiver import Receiver
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db(transaction=True)

SETTINGS = RunSettings(
    auto=False, rows=1000, algorithm="LAST_N", create_synthetic_data=False, hypertuning_enabled=True
)
HOLD = 1.5  # seconds a barrier waits for a second writer the guard keeps out


def both(*work: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread, with its own connection; their results."""
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def run(index: int, fn: Callable[[], Any]) -> None:
        try:
            results[index] = fn()
        except BaseException as exc:  # noqa: BLE001  (reported to the test below)
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a writer is stuck"
    assert errors == [], errors
    return results


def hold_at(barrier: threading.Barrier) -> None:
    # A broken barrier: the other writer is kept out by the guard, so go on alone.
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=HOLD)


@pytest.fixture
def starter(make_member: Any) -> Any:
    member = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    member.email = "op@team.example"
    member.save()
    MemberSettings.objects.create(user=member, email_my_runs=True)
    return member


def a_run_that_has_ended(sandbox: SandboxServer, member: Any) -> tuple[str, str]:
    """A run started in the console, mirrored as queued, that has ended in Dr.Gero since."""
    model_id = sandbox.state.add_model("ws_main", name="Raced")["id"]
    sandbox.state.set_next_outcome("FAILED", "Out of memory")
    submission = run_prepare(user=member, model_id=model_id, model_name="Raced", settings=SETTINGS)
    assert run_start(user=member, submission_id=submission.pk).started
    record = RunRecord.objects.get(model_id=model_id)
    assert record.category in ("queued", "running")
    sandbox.state.clock.advance(7200)
    return model_id, record.run_id


@pytest.fixture
def racing_upserts(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Hold each writer inside ``mirror_upsert``, after it read (and, with the guard, locked)
    the raced run's row. The test names the run in the returned dict."""
    barrier = threading.Barrier(2)
    raced: dict[str, str] = {}
    real = mirror._record_fields

    def held(run: Any, model_name: str) -> dict[str, Any]:
        if run.id == raced.get("run_id"):
            hold_at(barrier)
        return real(run, model_name)

    monkeypatch.setattr(mirror, "_record_fields", held)
    return raced


def told_once(run_id: str, member: Any, receiver: Receiver) -> None:
    record = RunRecord.objects.get(run_id=run_id)
    ends = RunTransition.objects.filter(run=record, to_category="failed")
    assert ends.count() == 1, list(ends.values_list("from_category", "to_category"))
    assert Notice.objects.filter(user=member, run=record, kind="run_ended").count() == 1
    deliveries = list(Delivery.objects.filter(run=record).order_by("channel"))
    assert [(d.channel, d.recipient) for d in deliveries] == [
        ("email", str(member.pk)),
        ("webhook", "team"),
    ]
    for delivery in deliveries:
        delivery_send(delivery.pk)
    assert [m.to for m in mail.outbox] == [["op@team.example"]]
    assert len(receiver.bodies) == 1


def test_a_sweep_and_a_persons_check_racing_tell_the_end_once(
    sandbox: SandboxServer, starter: Any, receiver: Receiver, racing_upserts: Any
) -> None:
    webhook_save(actor=starter, url=receiver.url)
    model_id, run_id = a_run_that_has_ended(sandbox, starter)
    racing_upserts["run_id"] = run_id
    both(
        lambda: sweep("active"),
        lambda: run_sync(user=starter, model_id=model_id, run_id=run_id),
    )
    told_once(run_id, starter, receiver)


def test_two_sweeps_racing_tell_the_end_once(
    sandbox: SandboxServer, starter: Any, receiver: Receiver, racing_upserts: Any
) -> None:
    webhook_save(actor=starter, url=receiver.url)
    _, run_id = a_run_that_has_ended(sandbox, starter)
    racing_upserts["run_id"] = run_id
    both(lambda: sweep("active"), lambda: sweep("active"))
    told_once(run_id, starter, receiver)


def test_two_writers_telling_one_run_end_make_one_notice_and_one_delivery_each(
    sandbox: SandboxServer, starter: Any, receiver: Receiver
) -> None:
    """Past the row lock (a run end told twice all the same): the unique constraints hold."""
    webhook_save(actor=starter, url=receiver.url)
    _, run_id = a_run_that_has_ended(sandbox, starter)
    RunRecord.objects.filter(run_id=run_id).update(category="failed", status="FAILED")
    barrier = threading.Barrier(2)

    def tell() -> None:
        record = RunRecord.objects.select_related("started_by").get(run_id=run_id)
        with transaction.atomic():
            run_ended(record)
            hold_at(barrier)

    both(tell, tell)
    record = RunRecord.objects.get(run_id=run_id)
    assert Notice.objects.filter(run=record, kind="run_ended").count() == 1
    assert Delivery.objects.filter(run=record, channel="email").count() == 1
    assert Delivery.objects.filter(run=record, channel="webhook").count() == 1


def test_two_deliver_tasks_for_one_delivery_send_once(
    sandbox: SandboxServer, starter: Any, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run end's flush re-queues every untried delivery, so two ``deliver(id)`` tasks for
    one delivery are normal: the claim lets one send."""
    webhook_save(actor=starter, url=receiver.url)
    _, run_id = a_run_that_has_ended(sandbox, starter)
    sweep("active")
    record = RunRecord.objects.get(run_id=run_id)
    ids = list(Delivery.objects.filter(run=record).values_list("pk", flat=True))
    assert len(ids) == 2
    barrier = threading.Barrier(2)
    real_first = QuerySet.first

    def first_then_hold(self: QuerySet[Any]) -> Any:
        found = real_first(self)
        if self.model is Delivery:
            hold_at(barrier)  # both tasks have read the delivery before either claims it
        return found

    monkeypatch.setattr(QuerySet, "first", first_then_hold)
    for delivery_id in ids:
        results = both(
            lambda d=delivery_id: delivery_send(d), lambda d=delivery_id: delivery_send(d)
        )
        assert sorted(results) == ["sent", "skipped"], results
    assert [m.to for m in mail.outbox] == [["op@team.example"]]
    assert len(receiver.bodies) == 1
    assert Delivery.objects.filter(run=record, state="sent").count() == 2


def test_an_unexpected_integrity_error_is_logged_not_dropped(
    sandbox: SandboxServer, starter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django.db import IntegrityError

    from console.services import notices

    _, run_id = a_run_that_has_ended(sandbox, starter)
    record = RunRecord.objects.select_related("started_by").get(run_id=run_id)
    real_create = Notice.objects.create

    def broken(**fields: Any) -> Any:
        raise IntegrityError("FOREIGN KEY constraint failed")

    Notice.objects.create = broken  # type: ignore[method-assign]
    try:
        with transaction.atomic():
            notices.run_ended(record)
    finally:
        Notice.objects.create = real_create  # type: ignore[method-assign]
    assert "could not record a Notice" in caplog.text


def test_two_writers_seeing_a_new_run_at_once_record_it_once(
    sandbox: SandboxServer, starter: Any, racing_upserts: Any
) -> None:
    """A row lock cannot guard a row that does not exist yet: both writers find the run new,
    and the second's insert must give way to the first's row, not fail the sweep."""
    model_id = sandbox.state.add_model("ws_main", name="Fresh")["id"]
    run_id = sandbox.state.add_run(model_id).id
    racing_upserts["run_id"] = run_id
    reports = both(
        lambda: sweep("discovery"),
        lambda: run_sync(user=starter, model_id=model_id),
    )
    assert reports[0].ok, reports[0].error
    assert reports[1].ok, reports[1].problem
    record = RunRecord.objects.get(run_id=run_id)
    first = RunTransition.objects.filter(run=record, from_category="")
    assert first.count() == 1
