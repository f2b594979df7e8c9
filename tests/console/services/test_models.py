"""Model services against the sandbox (and a fake client where timing would matter)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from console.models import AuditEvent, DrGeroToken
from console.roles import Role
from console.services import models as model_services
from console.services.drgero import Outcome
from console.services.models import (
    NameMismatchError,
    model_create,
    model_delete,
    model_detail,
    model_update,
    models_page,
)
from drgero_client.sandbox import DOCUMENTED_LEADERBOARD_ID, SandboxServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(make_member):  # type: ignore[no-untyped-def]
    return make_member("op", Role.OPERATOR, token="drgero_sandbox_full")


def new_model(sandbox: SandboxServer, **fields: Any) -> dict[str, Any]:
    return sandbox.state.add_model("ws_main", **{"name": "Subject", **fields})


def test_a_page_of_models_with_its_total(sandbox: SandboxServer, operator: Any) -> None:
    page = models_page(user=operator).value
    assert page is not None and page.total == 6 and len(page.models) == 6
    assert page.page_numbers == [1] and not page.has_next


def test_paging_uses_limit_and_offset(sandbox: SandboxServer, operator: Any) -> None:
    for n in range(60):
        new_model(sandbox, name=f"Bulk {n}", created_at="2020-01-01T00:00:00Z")
    second = models_page(user=operator, page=2).value
    assert second is not None and len(second.models) == 16 and second.page_numbers == [1, 2]
    assert sandbox.state.seen[-1].query == "limit=50&offset=50"


def test_search_filters_by_name_and_is_cached_per_member(
    sandbox: SandboxServer, operator: Any, make_member: Any
) -> None:
    page = models_page(user=operator, query="helper").value
    assert page is not None and [m.name for m in page.models] == ["Billing Helper"]
    models_page(user=operator, query="guide")
    assert sandbox.state.count("GET", "/api/models") == 1
    other = make_member("other", Role.VIEWER, token="drgero_sandbox_readonly")
    models_page(user=other, query="guide")
    assert sandbox.state.count("GET", "/api/models") == 2


def test_search_says_when_its_bound_is_reached(
    sandbox: SandboxServer, operator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_services, "SEARCH_BOUND", 4)
    page = models_page(user=operator, query="e").value
    assert page is not None and page.search_bound_reached


class BarrierClient:
    """Each call waits until both have started: sequential calls would never meet."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.barrier = threading.Barrier(2, timeout=5)

    def bound_to(self, session: Any) -> BarrierClient:
        return self

    def get_model(self, model_id: str) -> Any:
        self.barrier.wait()
        return self.real.get_model(model_id)

    def list_model_leaderboards(self, model_id: str) -> Any:
        self.barrier.wait()
        return self.real.list_model_leaderboards(model_id)


def test_detail_fetches_its_two_calls_at_the_same_time(
    sandbox: SandboxServer, operator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = model_services.member_client(operator).value
    monkeypatch.setattr(
        model_services, "member_client", lambda user: Outcome(value=BarrierClient(real))
    )
    model_id = new_model(sandbox, leaderboard_ids=[DOCUMENTED_LEADERBOARD_ID])["id"]
    detail = model_detail(user=operator, model_id=model_id)[0].value
    assert detail is not None
    assert detail.model.id == model_id and detail.leaderboards.value


def test_detail_never_asks_dr_gero_for_runs(sandbox: SandboxServer, operator: Any) -> None:
    """A model's runs come from the mirror, which the worker keeps current."""
    model_id = new_model(sandbox)["id"]
    detail = model_detail(user=operator, model_id=model_id)[0].value
    assert detail is not None and detail.model.name == "Subject"
    assert sandbox.state.count("GET", r"/api/models/.*/fine-tune/runs") == 0


def test_create_is_audited_with_what_was_sent(sandbox: SandboxServer, operator: Any) -> None:
    fields = {
        "name": "Fresh",
        "description": "d",
        "leaderboard_ids": [DOCUMENTED_LEADERBOARD_ID],
        "creation_mode": "auto",
        "auto_update_model": True,
        "continuous_self_learning": False,
        "hypertuning_parameters": False,
    }
    created = model_create(user=operator, fields=fields).model
    assert created is not None and created.name == "Fresh"
    event = AuditEvent.objects.get(action="model.create")
    assert (event.outcome, event.target_id) == ("succeeded", created.id)
    assert json.loads(event.changes)["after"]["leaderboard_ids"] == [DOCUMENTED_LEADERBOARD_ID]


def test_a_refused_scope_is_explained_audited_and_remembered(
    sandbox: SandboxServer, make_member: Any
) -> None:
    viewer_token = make_member("ro", Role.OPERATOR, token="drgero_sandbox_readonly")
    outcome = model_create(user=viewer_token, fields={"name": "Nope"})
    assert outcome.problem is not None
    assert "lacks models:write" in outcome.problem.message
    event = AuditEvent.objects.get(action="model.create")
    assert (event.outcome, event.status_code) == ("failed", 403)
    assert DrGeroToken.objects.get(user=viewer_token).refused_scopes == ["models:write"]


def test_update_sends_only_what_changed(sandbox: SandboxServer, operator: Any) -> None:
    model_id = new_model(sandbox, description="old", leaderboard_ids=[DOCUMENTED_LEADERBOARD_ID])[
        "id"
    ]
    fields = {
        "name": "Subject",
        "description": "new",
        "leaderboard_ids": [DOCUMENTED_LEADERBOARD_ID],
        "creation_mode": "auto",
        "auto_update_model": False,
        "continuous_self_learning": False,
        "hypertuning_parameters": False,
    }
    result = model_update(user=operator, model_id=model_id, fields=fields).value
    assert result is not None and result.changed == {"description": "new"}
    patch = [r for r in sandbox.state.seen if r.method == "PATCH"]
    assert [p.body for p in patch] == [b'{"description":"new"}']
    changes = json.loads(AuditEvent.objects.get(action="model.update").changes)
    assert changes == {"before": {"description": "old"}, "after": {"description": "new"}}


def test_update_with_nothing_changed_sends_nothing(sandbox: SandboxServer, operator: Any) -> None:
    model_id = new_model(sandbox)["id"]
    fields = {
        "name": "Subject",
        "description": "",
        "leaderboard_ids": [],
        "creation_mode": "auto",
        "auto_update_model": False,
        "continuous_self_learning": False,
        "hypertuning_parameters": False,
    }
    result = model_update(user=operator, model_id=model_id, fields=fields).value
    assert result is not None and result.changed == {}
    assert sandbox.state.count("PATCH", ".*") == 0
    assert not AuditEvent.objects.exists()


def test_a_timed_out_update_says_it_may_have_been_applied(
    sandbox: SandboxServer, operator: Any
) -> None:
    model_id = new_model(sandbox)["id"]
    sandbox.arm(r"/api/models/.*", method="PATCH", kind="delay", delay_s=1.0, apply=True)
    outcome = model_update(user=operator, model_id=model_id, fields={"name": "Renamed"})
    assert outcome.problem is not None and not outcome.problem.nothing_changed
    assert "may or may not have been applied" in outcome.problem.message
    assert AuditEvent.objects.get(action="model.update").outcome == "unknown"


def test_delete_needs_the_exact_name_and_keeps_a_snapshot(
    sandbox: SandboxServer, operator: Any
) -> None:
    model_id = new_model(sandbox, description="to go")["id"]
    with pytest.raises(NameMismatchError):
        model_delete(user=operator, model_id=model_id, typed_name="subject")
    assert model_id in sandbox.state.models
    assert model_delete(user=operator, model_id=model_id, typed_name="Subject").ok
    assert model_id not in sandbox.state.models
    snapshot = json.loads(AuditEvent.objects.get(action="model.delete").changes)["before"]
    assert snapshot["description"] == "to go"


def test_no_token_is_an_invitation(sandbox: SandboxServer, make_member: Any) -> None:
    outcome = models_page(user=make_member("nobody", Role.VIEWER))
    assert outcome.problem is not None and outcome.problem.kind == "no_token"
    assert sandbox.state.seen == []


def test_page_numbers_leave_out_runs_of_pages() -> None:
    from console.services.models import ModelsPage

    page = ModelsPage(models=[], page=10, total=1000, has_next=True)
    assert page.page_numbers == [1, "…", 7, 8, 9, 10, 11, 12, 13, "…", 20]


def test_detail_sends_its_calls_before_the_pages_own_reads(
    sandbox: SandboxServer, operator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's reads wait until both calls are taken up: the later call's answer would
    otherwise come as much later as the reads held the interpreter."""
    order: list[str] = []
    real = model_services._in_pool

    def spy(client: Any, fn: Any, started: threading.Semaphore) -> Any:
        order.append("call")
        return real(client, fn, started)

    monkeypatch.setattr(model_services, "_in_pool", spy)
    model_id = new_model(sandbox)["id"]
    for _ in range(5):
        order.clear()
        outcome, _ = model_detail(
            user=operator, model_id=model_id, meanwhile=lambda: order.append("reads")
        )
        assert outcome.value is not None
        assert order == ["call", "call", "reads"]
