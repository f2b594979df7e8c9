"""A model page's cards (settings, schedule, leaderboards, other details), kept per answer from
Dr.Gero (console.fragments): the same page as rendered fresh, new when the answer changes,
relative times filled in for each request, and the role's own wording."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.template import loader

from console import fragments
from console.fragments import answer_digest
from console.models import MirrorState
from console.roles import Role
from drgero_client.sandbox import DOCUMENTED_LEADERBOARD_ID, SandboxServer
from tests.console.views.test_runs_kept import _without_tokens

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
FULL = "drgero_sandbox_full"


@pytest.fixture(autouse=True)
def kept(settings: Any) -> Iterator[None]:
    settings.CONSOLE_FRAGMENTS = True
    fragments.forget()
    MirrorState.objects.all().delete()
    yield
    fragments.forget()


def _model(sandbox: SandboxServer, **fields: Any) -> str:
    fields = {"name": "Subject", "leaderboard_ids": [DOCUMENTED_LEADERBOARD_ID], **fields}
    return sandbox.state.add_model("ws_main", **fields)["id"]


def _page(client: Any, model_id: str, now: datetime = NOW) -> str:
    with mock.patch("django.utils.timezone.now", return_value=now):
        response = client.get(f"/models/{model_id}/")
    assert response.status_code == 200
    return response.content.decode()


class Renders:
    """How many times the cards were rendered."""

    def __init__(self) -> None:
        self.count = 0
        self.real = loader.render_to_string

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> str:
        if name.endswith("#model-cards"):
            self.count += 1
        return self.real(name, *args, **kwargs)


@pytest.fixture
def renders() -> Iterator[Renders]:
    spy = Renders()
    with mock.patch("console.views.models.render_to_string", spy):
        yield spy


def test_a_kept_page_is_the_page_rendered_fresh(
    login_as: Any, sandbox: SandboxServer, settings: Any
) -> None:
    model_id = _model(sandbox, colour="teal", description="<b>bold</b> words")
    client = login_as(Role.OPERATOR, token=FULL)
    first, again = _page(client, model_id), _page(client, model_id)
    settings.CONSOLE_FRAGMENTS = False
    fresh = _page(client, model_id)
    assert _without_tokens(first) == _without_tokens(fresh) == _without_tokens(again)
    assert "Customer Support QA" in fresh and "teal" in fresh
    assert "&lt;b&gt;bold&lt;/b&gt;" in fresh


def test_the_same_answer_is_rendered_once_and_a_new_one_again(
    login_as: Any, sandbox: SandboxServer, renders: Renders
) -> None:
    model_id = _model(sandbox)
    client = login_as(Role.OPERATOR, token=FULL)
    for _ in range(3):
        _page(client, model_id)
    assert renders.count == 1
    sandbox.state.models[model_id]["description"] = "Answers refund questions"
    assert "Answers refund questions" in _page(client, model_id)
    assert renders.count == 2


def test_a_leaderboard_that_can_no_longer_be_read_is_not_kept_as_it_was(
    login_as: Any, sandbox: SandboxServer
) -> None:
    model_id = _model(sandbox)
    client = login_as(Role.OPERATOR, token=FULL)
    assert "Customer Support QA" in _page(client, model_id)
    sandbox.state.models[model_id]["leaderboard_ids"] = []
    body = _page(client, model_id)
    assert "Customer Support QA" not in body and "No leaderboards assigned." in body


def test_each_role_gets_its_own_wording(login_as: Any, sandbox: SandboxServer) -> None:
    model_id = _model(sandbox)
    operator = login_as(Role.OPERATOR, token=FULL)
    viewer = login_as(Role.VIEWER, token=FULL)
    assert "Edit the schedule" in _page(operator, model_id)
    body = _page(viewer, model_id)
    assert "See the schedule" in body and "Edit the schedule" not in body


def test_relative_times_are_those_of_each_request(
    login_as: Any, sandbox: SandboxServer, settings: Any, renders: Renders
) -> None:
    model_id = _model(sandbox)
    client = login_as(Role.OPERATOR, token=FULL)
    # Both moments are in the past of the real clock, where the member's session is valid.
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    sandbox.state.models[model_id]["created_at"] = created.isoformat()
    soon, later = created + timedelta(minutes=3), created + timedelta(hours=5)
    first, second = _page(client, model_id, soon), _page(client, model_id, later)
    assert renders.count == 1
    assert "3 minutes ago" in first and "5 hours ago" in second
    settings.CONSOLE_FRAGMENTS = False
    assert _without_tokens(second) == _without_tokens(_page(client, model_id, later))


def test_an_answer_digest_ignores_key_order_only() -> None:
    one = {"id": "m1", "name": "A", "extra": {"x": 1, "y": [1, 2]}}
    same = {"extra": {"y": [1, 2], "x": 1}, "name": "A", "id": "m1"}
    assert answer_digest(one) == answer_digest(same)
    assert answer_digest(one) != answer_digest({**one, "name": "B"})
    assert answer_digest(one) != answer_digest({**one, "extra": {"x": 1, "y": [2, 1]}})


def test_the_latest_runs_card_is_rendered_while_dr_gero_answers(
    login_as: Any, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runs card reads only the console's record, so it is written while the calls are
    out: each call here waits (two seconds at the most) for the card before it answers."""
    from console.services import models as model_services
    from console.views import models as model_views

    model_id = _model(sandbox)
    client = login_as(Role.OPERATOR, token=FULL)
    card = threading.Event()
    order: list[str] = []
    real_render, real_call = model_views.render_to_string, model_services._in_pool

    def render(name: str, *args: Any, **kwargs: Any) -> str:
        if name.endswith("#model-runs"):
            order.append("runs card")
            card.set()
        return real_render(name, *args, **kwargs)

    def call(*args: Any) -> Any:
        card.wait(timeout=2)
        order.append("answer")
        return real_call(*args)

    monkeypatch.setattr(model_views, "render_to_string", render)
    monkeypatch.setattr(model_services, "_in_pool", call)
    body = _page(client, model_id)
    assert order == ["runs card", "answer", "answer"]
    assert "Latest runs" in body and "No runs yet." in body
