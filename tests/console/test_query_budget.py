"""A query budget for every page of the page map.

Each page is asked with a small record (2 of everything: runs, audit events, members,
models in Dr.Gero) and a larger one (40 of everything). Its number of queries must be the same
for both — so an N+1 cannot come back silently — and within the page's budget.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from console.roles import Role
from console.services.audit import Actor, Target, audit_record
from drgero_client.sandbox import SandboxServer
from tests.console.views.test_runs_pages import record

pytestmark = pytest.mark.django_db

FULL = "drgero_sandbox_full"

# path → the most queries the page may make: what it makes today (session, member and role,
# notices, token, and its own reads). A new query on a page shows here first.
BUDGET = {
    "/models/": 5,  # the latest runs in one query (it was two)
    "/models/new/": 4,
    "/models/{model}/": 10,
    "/models/{model}/edit/": 4,
    "/models/{model}/delete/": 4,
    "/base-models/": 4,
    "/runs/": 9,
    "/runs/?status=succeeded&sort=longest": 9,
    "/models/{model}/runs/": 13,  # measured on its own model's 42 runs (it was 12 on none)
    "/models/{model}/runs/new/": 7,
    "/runs/{run}/": 9,
    "/models/{model}/schedule/": 6,  # + whether Dr.Gero last refused schedules for the plan
    "/audit/": 6,
    "/audit/?outcome=succeeded": 6,
    "/team/": 9,
    "/account/token/": 4,
    "/account/notifications/": 5,  # + the address's state and the provider link
    "/account/password/": 3,
}


def populate(sandbox: SandboxServer, make_member: Any, n: int, model_id: str = "") -> str:
    """``n`` of everything, the runs on ``model_id`` (the measured model; a new one when
    empty), half of them started in the console by different members, so that a per-row
    lookup of who started a run would show in the count."""
    model_id = model_id or str(sandbox.state.add_model("ws_main", name="Budgeted")["id"])
    for i in range(n):
        sandbox.state.add_model("ws_main", name=f"Other {n}-{i}")
        member = make_member(f"member-{n}-{i}", Role.OPERATOR, token=FULL if i % 2 else None)
        by_console = (
            {"origin": "console", "started_by": member, "started_by_username": member.username}
            if i % 2
            else {}
        )
        record(i, run_id=f"run-{n}-{i}", model_id=model_id, model_name="Budgeted", **by_console)
        audit_record(
            actor=Actor(member.pk, member.username),
            action="model.update",
            outcome="succeeded",
            target=Target("model", model_id, "Budgeted"),
            changes={"before": {"name": "a"}, "after": {"name": "b"}},
        )
    return model_id


def counts(client: Any, model_id: str, run_id: str) -> dict[str, int]:
    found = {}
    for template in BUDGET:
        path = template.format(model=model_id, run=run_id)
        client.get(path)  # warm: the first visit of a session may read its settings once
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found[template] = len(queries)
    return found


def test_every_page_makes_a_fixed_number_of_queries_whatever_the_rows(
    login_as: Any, make_member: Any, sandbox: SandboxServer
) -> None:
    client = login_as(Role.ADMIN, token=FULL)
    model_id = populate(sandbox, make_member, 2)
    small = counts(client, model_id, "run-2-1")
    populate(sandbox, make_member, 40, model_id)
    from console.models import RunRecord

    assert RunRecord.objects.filter(model_id=model_id).count() == 42
    assert RunRecord.objects.filter(model_id=model_id, origin="console").count() == 21
    large = counts(client, model_id, "run-2-1")
    assert large == small, {k: (small[k], large[k]) for k in small if small[k] != large[k]}
    over = {k: (v, BUDGET[k]) for k, v in large.items() if v > BUDGET[k]}
    assert not over, over
