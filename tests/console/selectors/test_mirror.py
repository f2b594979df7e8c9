"""Reads of the mirror: freshness for the banner, estimates and the start form's defaults."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from console.models import ModelSyncState, RunOrigin, RunRecord, SweepState
from console.roles import Role
from console.selectors.mirror import mirror_freshness
from console.selectors.run_page import duration_estimate, start_defaults

pytestmark = pytest.mark.django_db


def record(model_id: str, n: int, **fields: Any) -> RunRecord:
    now = timezone.now()
    values: dict[str, Any] = {
        "run_id": f"{model_id}-{n}",
        "model_id": model_id,
        "category": "succeeded",
        "status": "SUCCEEDED",
        "created_at": now - timedelta(hours=n),
        "first_seen_at": now,
        "origin": RunOrigin.EXTERNAL,
        **fields,
    }
    return RunRecord.objects.create(**values)


def test_freshness_says_no_reader_then_last_check_then_failing(make_member: Any) -> None:
    assert mirror_freshness().no_reader
    make_member("reader", Role.VIEWER, token="drgero_sandbox_full")
    now = timezone.now()
    SweepState.objects.create(name="discovery", last_ok_at=now - timedelta(minutes=3))
    fresh = mirror_freshness()
    assert not fresh.no_reader and fresh.last_checked_at and fresh.failing_since is None
    SweepState.objects.filter(name="discovery").update(failing_since=now, last_error="down")
    assert mirror_freshness().failing_since == now


def test_a_models_freshness_knows_pending_checks_and_deletion() -> None:
    ModelSyncState.objects.create(model_id="m1", sync_requested_at=timezone.now())
    assert mirror_freshness("m1").sync_pending
    ModelSyncState.objects.filter(pk="m1").update(sync_requested_at=None, deleted_at=timezone.now())
    later = mirror_freshness("m1")
    assert not later.sync_pending and later.deleted_at is not None


def test_the_estimate_is_the_median_and_range_of_the_last_ten_finished() -> None:
    assert duration_estimate("m1") is None
    for n, minutes in enumerate([5, 50, 10, 20, 30, 40, 60, 70, 80, 90, 1000]):
        record("m1", n, duration_seconds=minutes * 60)
    record("m1", 99, category="running", duration_seconds=None)
    estimate = duration_estimate("m1")
    assert estimate is not None and estimate.count == 10
    assert (estimate.shortest, estimate.longest) == (5 * 60, 90 * 60)  # the oldest, 1000, left
    assert estimate.median == 45 * 60


def test_start_defaults_follow_the_last_console_run_and_the_model(make_member: Any) -> None:
    initial, note = start_defaults("m1", model_hypertuning=True)
    assert initial["size"] == "rows" and initial["rows"] == 1000 and initial["hypertuning_enabled"]
    assert "defaults" in note
    member = make_member("op", Role.OPERATOR)
    record(
        "m1",
        1,
        origin=RunOrigin.CONSOLE,
        started_by=member,
        dataset_auto=True,
        dataset_algorithm="RANDOM_SHUFFLE",
        create_synthetic_data=True,
        hypertuning_enabled=True,
    )
    initial, note = start_defaults("m1", model_hypertuning=False)
    assert initial["size"] == "auto" and initial["algorithm"] == "RANDOM_SHUFFLE"
    assert initial["create_synthetic_data"] and not initial["hypertuning_enabled"]
    assert "last run from the console" in note
    again, why = start_defaults("m1", model_hypertuning=False, from_run="m1-1")
    assert again["hypertuning_enabled"] and "run you chose to repeat" in why


def test_a_quiet_worker_and_a_long_wait_are_noticed(make_member: Any) -> None:
    make_member("reader", Role.VIEWER, token="drgero_sandbox_full")
    assert mirror_freshness().worker_quiet  # no sweep has ever started
    SweepState.objects.create(name="active", last_started_at=timezone.now())
    assert not mirror_freshness().worker_quiet
    SweepState.objects.filter(name="active").update(
        last_started_at=timezone.now() - timedelta(minutes=6)
    )
    assert mirror_freshness().worker_quiet
    ModelSyncState.objects.create(
        model_id="m1", sync_requested_at=timezone.now() - timedelta(minutes=3)
    )
    assert mirror_freshness("m1").sync_waiting_long
