"""Saving a token reads what it sees at once; meanwhile the history says so."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from console.models import DrGeroToken, RunRecord
from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.console.worker import queued_names, run_queued

pytestmark = pytest.mark.django_db


def test_saving_a_token_reads_what_it_sees_and_the_history_says_so_meanwhile(
    sandbox: SandboxServer, login_as: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = login_as(Role.VIEWER)
    assert "Reading what your token can see" not in client.get("/runs/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/token/", {"token": "drgero_sandbox_full"})
    assert queued_names() == ["discover_for_member"]
    waiting = client.get("/runs/").content.decode()
    assert "Reading what your token can see" in waiting and "No runs yet" not in waiting
    assert 'hx-trigger="every' in waiting  # the table follows until the runs arrive
    run_queued()
    expected = {r.id for r in sandbox.state.runs.values() if r.workspace_id == "ws_main"}
    assert set(RunRecord.objects.values_list("run_id", flat=True)) >= expected
    assert DrGeroToken.objects.get(user=client.user).read_at is not None
    page = client.get("/runs/").content.decode()
    assert "Reading what your token can see" not in page


def test_reading_is_not_claimed_for_ever(sandbox: SandboxServer, login_as: Any) -> None:
    """Without a worker, the words give way to the plain empty state after two minutes."""
    client = login_as(Role.VIEWER, token="drgero_sandbox_full")
    DrGeroToken.objects.filter(user=client.user).update(read_at=None, saved_at=timezone.now())
    assert "Reading what your token can see" in client.get("/runs/").content.decode()
    DrGeroToken.objects.filter(user=client.user).update(
        saved_at=timezone.now() - timedelta(minutes=3)
    )
    assert "Reading what your token can see" not in client.get("/runs/").content.decode()


def test_a_member_read_marks_no_model_deleted(
    sandbox: SandboxServer, login_as: Any, make_member: Any
) -> None:
    from console.models import ModelSyncState
    from console.services import sweeps

    other = make_member("other", Role.VIEWER, token="drgero_sandbox_readonly")
    ModelSyncState.objects.create(model_id="seen-by-someone-else", model_name="Theirs")
    sweeps.sweep_member(other.pk)
    assert ModelSyncState.objects.get(pk="seen-by-someone-else").deleted_at is None
