"""Members without a Dr.Gero account follow the team's models from the console's record."""

from __future__ import annotations

from typing import Any

import pytest

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.console.html import has_html
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db

FULL = "drgero_sandbox_full"


@pytest.fixture
def recorded(sandbox: SandboxServer, make_member: Any) -> dict[str, Any]:
    """A model the worker has read through another member's token."""
    make_member("reader", Role.OPERATOR, token=FULL)
    board = next(iter(sandbox.state.leaderboards.values()))
    model = sandbox.state.add_model(
        "ws_main",
        name="Invoice Explainer",
        description="Answers invoice questions",
        leaderboard_ids=[board["id"]],
        continuous_self_learning=True,
        fine_tune_schedule={
            "run": {"type": "DAILY"},
            "dataset": {
                "mode": "LIMIT",
                "limit": {"auto": False, "rows": 500, "algorithm": "LAST_N"},
            },
        },
    )
    sweep()
    sandbox.state.seen.clear()
    return {**model, "board": board}


def test_a_viewer_without_a_token_sees_the_models_as_last_read(
    sandbox: SandboxServer, login_as: Any, recorded: dict[str, Any]
) -> None:
    viewer = login_as(Role.VIEWER)
    response = viewer.get("/models/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'href="/models/{recorded["id"]}/">Invoice Explainer</a>' in body
    assert "read by the console" in body and "As of" in body
    assert "Add your token" not in body  # a Viewer cannot act: no invitation to
    assert sandbox.state.seen == []  # nothing asked of Dr.Gero


def test_the_record_is_searched_by_name_and_description(
    login_as: Any, recorded: dict[str, Any]
) -> None:
    viewer = login_as(Role.VIEWER)
    assert "Invoice Explainer" in viewer.get("/models/?q=invoice questions").content.decode()
    assert "Invoice Explainer" not in viewer.get("/models/?q=zzz").content.decode()


def test_a_models_page_from_the_record(
    sandbox: SandboxServer, login_as: Any, recorded: dict[str, Any]
) -> None:
    viewer = login_as(Role.VIEWER)
    response = viewer.get(f"/models/{recorded['id']}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Answers invoice questions" in body
    assert recorded["board"]["name"] in body
    assert has_html(body, "<dt>Keep learning</dt>")
    assert "Every day, Dr.Gero fine-tunes Invoice Explainer on the newest 500 rows." in body
    assert "read by the console" in body
    assert "Start a run" not in body and ">Edit<" not in body
    assert sandbox.state.seen == []


def test_an_operator_without_a_token_is_told_acting_needs_one(
    login_as: Any, recorded: dict[str, Any]
) -> None:
    operator = login_as(Role.OPERATOR)
    for path in ("/models/", f"/models/{recorded['id']}/", f"/models/{recorded['id']}/schedule/"):
        body = operator.get(path).content.decode()
        assert "read by the console" in body, path
        assert "Add your Dr.Gero token to" in body and 'href="/account/token/"' in body, path


def test_the_schedule_from_the_record_is_read_only(
    sandbox: SandboxServer, login_as: Any, recorded: dict[str, Any]
) -> None:
    operator = login_as(Role.OPERATOR)
    body = operator.get(f"/models/{recorded['id']}/schedule/").content.decode()
    assert "Every day, Dr.Gero fine-tunes Invoice Explainer on the newest 500 rows." in body
    assert "Review the change" not in body
    assert sandbox.state.seen == []


def test_a_member_with_a_token_keeps_live_pages(
    sandbox: SandboxServer, login_as: Any, recorded: dict[str, Any]
) -> None:
    member = login_as(Role.VIEWER, token=FULL)
    sandbox.state.models[recorded["id"]]["name"] = "Renamed just now"
    body = member.get(f"/models/{recorded['id']}/").content.decode()
    assert "Renamed just now" in body and "read by the console" not in body


def test_a_deleted_model_leaves_the_record_list(
    sandbox: SandboxServer, login_as: Any, recorded: dict[str, Any]
) -> None:
    del sandbox.state.models[recorded["id"]]
    sweep()
    viewer = login_as(Role.VIEWER)
    assert "Invoice Explainer" not in viewer.get("/models/").content.decode()
    assert viewer.get(f"/models/{recorded['id']}/").status_code == 404


def test_an_empty_record_says_what_fills_it(login_as: Any) -> None:
    body = login_as(Role.VIEWER).get("/models/").content.decode()
    assert "has not read any of the team's models yet" in body


def test_hostile_text_in_a_recorded_model_stays_text(
    sandbox: SandboxServer, make_member: Any, login_as: Any
) -> None:
    make_member("reader", Role.OPERATOR, token=FULL)
    model = sandbox.state.add_model(
        "ws_main", name="<img src=x onerror=alert(1)>\u202e", description="<script>x</script>"
    )
    sweep()
    body = login_as(Role.VIEWER).get(f"/models/{model['id']}/").content.decode()
    assert "<img src=x" not in body and "<script>x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
