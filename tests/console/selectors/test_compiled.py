"""Queries compiled once give the rows the ORM gives, for every value and count, and refuse a
query whose values the ORM would change on their way to the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import OuterRef, Subquery

from console.models import ModelSyncState, RunRecord
from console.selectors.compiled import Compiled
from console.selectors.mirror import LATEST_OF, latest_runs
from console.selectors.tokens import token_record

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _run(run_id: str, model_id: str, minutes: int, **extra: Any) -> RunRecord:
    return RunRecord.objects.create(
        run_id=run_id,
        model_id=model_id,
        category="succeeded",
        created_at=T0 + timedelta(minutes=minutes),
        first_seen_at=T0,
        origin="console",
        **extra,
    )


@pytest.mark.django_db
def test_the_latest_runs_are_what_the_orm_finds() -> None:
    for m in ("m1", "m2", "m3", 'it\'s "quoted" %s'):
        ModelSyncState.objects.create(model_id=m, model_name=m)
    _run("a", "m1", 1)
    newest_m1 = _run("b", "m1", 5)
    _run("c", "m2", 3)
    tied_low = _run("d", 'it\'s "quoted" %s', 2)  # noqa: F841  (the tie is broken by id)
    tied_high = _run("e", 'it\'s "quoted" %s', 2)
    for ids in (["m1"], ["m1", "m2", "m3"], ["m3"], ['it\'s "quoted" %s', "m1"], ["nope"]):
        newest = (
            RunRecord.objects.filter(model_id=OuterRef("model_id"))
            .order_by("-created_at", "-pk")
            .values("pk")[:1]
        )
        expected = {
            r.model_id: r.pk
            for r in RunRecord.objects.filter(
                pk__in=ModelSyncState.objects.filter(pk__in=ids).values(latest=Subquery(newest))
            )
        }
        assert {m: r.pk for m, r in latest_runs(ids).items()} == expected
    found = latest_runs(["m1", 'it\'s "quoted" %s', "m1"])
    assert found["m1"].pk == newest_m1.pk and found['it\'s "quoted" %s'].pk == tied_high.pk
    assert found["m1"].run_id == "b" and found["m1"].raw == {}  # a left-out column, read on use
    assert latest_runs([]) == {}
    assert set(LATEST_OF._sql) >= {("default", 1), ("default", 3)}


@pytest.mark.django_db
def test_the_token_row_is_the_members_own(make_member: Any) -> None:
    with_token = make_member("has-token", None, "drgero_sandbox_full")
    without = make_member("no-token", None, None)
    record = token_record(with_token)
    assert record is not None and record.user_id == with_token.pk and record.ciphertext
    assert token_record(without) is None


@pytest.mark.django_db
def test_a_value_the_orm_would_change_is_refused_when_compiled() -> None:
    pattern = Compiled(
        RunRecord, lambda name: RunRecord.objects.filter(model_name__icontains=name), str
    )
    with pytest.raises(ValueError, match="did not reach the SQL"):
        pattern.rows("Billing")
    plain = Compiled(RunRecord, lambda name: RunRecord.objects.filter(model_name=name), str)
    _run("x", "m9", 1, model_name="Billing")
    assert [r.run_id for r in plain.rows("Billing")] == ["x"]
    assert plain.rows("Bill") == []
