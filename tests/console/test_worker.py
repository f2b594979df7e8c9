"""The real Huey consumer: started as `run_huey` starts it, it fills the mirror by itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail

from console.models import Notice, RunRecord, SweepState
from console.roles import Role
from console.services.runs import RunSettings, run_prepare, run_start
from drgero_client.sandbox import SandboxServer

pytestmark = pytest.mark.django_db(transaction=True)


def until(check: Callable[[], Any], *, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError("the worker did not get there in time")


def test_a_fresh_console_fills_and_follows_a_run_to_its_end(
    sandbox: SandboxServer, make_member: Any, worker: Any
) -> None:
    member = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    member.email = "op@example.org"
    member.save()
    expected = {r.id for r in sandbox.state.runs.values() if r.workspace_id == "ws_main"}
    until(lambda: set(RunRecord.objects.values_list("run_id", flat=True)) >= expected)
    model_id = sandbox.state.add_model("ws_main", name="Watched")["id"]
    settings = RunSettings(
        auto=True,
        rows=None,
        algorithm="LAST_N",
        create_synthetic_data=False,
        hypertuning_enabled=False,
    )
    submission = run_prepare(
        user=member, model_id=model_id, model_name="Watched", settings=settings
    )
    assert run_start(user=member, submission_id=submission.pk).started
    sandbox.state.clock.advance(7200)
    until(lambda: Notice.objects.filter(user=member, kind="run_ended").exists())
    until(lambda: mail.outbox)
    assert "Watched succeeded" in mail.outbox[0].subject + mail.outbox[0].body
    # Whichever sweep saw the end first (the active one, or a discovery sweep that came due),
    # it recorded a successful read of Dr.Gero.
    assert SweepState.objects.filter(last_ok_at__isnull=False).exists()


def test_a_new_tokens_runs_appear_without_waiting_for_the_discovery_sweep(
    sandbox: SandboxServer, login_as: Any, worker: Any, settings: Any
) -> None:
    """The worker's discovery sweep ran at its start, before any token, and is not due again
    for an hour: only the read that saving a token asks for can fill the history."""
    settings.CONSOLE_SYNC_IDLE_SECONDS = 3600
    client = login_as(Role.VIEWER)
    until(lambda: SweepState.objects.filter(name="discovery", last_finished_at__isnull=False))
    assert not RunRecord.objects.exists()
    saved_at = time.monotonic()
    client.post("/account/token/", {"token": "drgero_sandbox_full"})
    expected = {r.id for r in sandbox.state.runs.values() if r.workspace_id == "ws_main"}
    until(lambda: set(RunRecord.objects.values_list("run_id", flat=True)) >= expected)
    took = time.monotonic() - saved_at
    print(f"a new token's runs appeared {took:.2f} s after it was saved")
    page = client.get("/runs/").content.decode()
    assert "Reading what your token can see" not in page and "No runs yet" not in page
