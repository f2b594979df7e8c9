"""The console's record of the team's models: what the discovery sweep keeps of each one."""

from __future__ import annotations

from typing import Any

import pytest

from console.models import ModelSyncState
from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db

FULL = "drgero_sandbox_full"


def test_the_sweep_keeps_each_models_details_leaderboards_and_base_model(
    sandbox: SandboxServer, make_member: Any
) -> None:
    make_member("reader", Role.OPERATOR, token=FULL)
    board = next(iter(sandbox.state.leaderboards.values()))
    base = sandbox.state.base_models[0]
    model = sandbox.state.add_model(
        "ws_main",
        name="Invoice Explainer",
        description="Answers invoice questions",
        leaderboard_ids=[board["id"]],
        base_model_id=base["id"],
    )
    sweep()
    state = ModelSyncState.objects.get(pk=model["id"])
    assert state.details["name"] == "Invoice Explainer"
    assert state.details["description"] == "Answers invoice questions"
    assert state.leaderboards == [
        {"id": board["id"], "name": board["name"], "description": board["description"]}
    ]
    assert state.base_model_name == base["name"]
    assert state.details_read_at is not None


def test_leaderboards_are_read_again_only_when_a_models_leaderboards_change(
    sandbox: SandboxServer, make_member: Any
) -> None:
    make_member("reader", Role.OPERATOR, token=FULL)
    boards = list(sandbox.state.leaderboards.values())
    model = sandbox.state.add_model("ws_main", name="Steady", leaderboard_ids=[boards[0]["id"]])
    sweep()
    path = rf"/api/models/{model['id']}/leaderboards"
    assert sandbox.state.count("GET", path) == 1
    sweep()
    assert sandbox.state.count("GET", path) == 1  # unchanged: not asked again
    sandbox.state.models[model["id"]]["leaderboard_ids"] = [boards[1]["id"]]
    sweep()
    assert sandbox.state.count("GET", path) == 2
    kept = ModelSyncState.objects.get(pk=model["id"]).leaderboards
    assert [b["id"] for b in kept] == [boards[1]["id"]]


def test_an_edit_in_dr_gero_reaches_the_record_on_the_next_sweep(
    sandbox: SandboxServer, make_member: Any
) -> None:
    make_member("reader", Role.OPERATOR, token=FULL)
    model = sandbox.state.add_model("ws_main", name="Before")
    sweep()
    first = ModelSyncState.objects.get(pk=model["id"]).details_read_at
    sandbox.state.models[model["id"]]["name"] = "After"
    sweep()
    state = ModelSyncState.objects.get(pk=model["id"])
    assert state.details["name"] == "After" and state.model_name == "After"
    assert state.details_read_at is not None and first is not None
    assert state.details_read_at >= first


def test_a_leaderboard_read_that_fails_keeps_what_was_recorded(
    sandbox: SandboxServer, make_member: Any
) -> None:
    make_member("reader", Role.OPERATOR, token=FULL)
    board = next(iter(sandbox.state.leaderboards.values()))
    model = sandbox.state.add_model("ws_main", name="Kept", leaderboard_ids=[board["id"]])
    sweep()
    sandbox.state.models[model["id"]]["leaderboard_ids"] = []
    sandbox.arm(rf"/api/models/{model['id']}/leaderboards", method="GET", status=403)
    report = sweep()
    assert report.ok
    assert [b["id"] for b in ModelSyncState.objects.get(pk=model["id"]).leaderboards] == [
        board["id"]
    ]
