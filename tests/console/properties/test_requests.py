"""Property: whatever a request holds, no page answers 500, nothing is logged as an error, and a
refused input changes nothing upstream.

Every list page's and export's query string, and every form, gets values at the extremes:
dates far out, huge and negative numbers, unicode digits, NUL and control characters, markup,
token-shaped text, repeated parameters and random cursors.
"""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.models import AuditEvent
from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import HTMX
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db

# Text from the whole of Unicode (controls, format characters, private use, emoji, marks),
# and hand-picked hostile text: invisible and bidirectional characters, chat markup, values
# longer than any column.
UNICODE = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
HOSTILE = st.sampled_from(
    [
        "drgero_\u200bsandbox_full",  # a zero-width space pasted inside a token
        "drgero_sandbox\u00a0full",  # a non-breaking space
        "drgero_sändbox",
        "\u202eevil\u202c",  # right-to-left override
        "\ufeffname",
        "Model\r\nBcc: someone@example.org",
        "<!channel> <@U123> <https://example.org|label> @here",
        "🧪" * 40,
        "a" * 300 + "@example.org",
        "x" * 5000,
        "\x7f\x1b[31m",
    ]
)
NASTY = st.one_of(
    st.text(max_size=30),
    UNICODE,
    HOSTILE,
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "99999999999999999999999",
            "9999-12-31",
            "0001-01-01",
            "2026-02-30",
            "٢٠٢٦-٠١-٠١",  # Arabic-Indic digits
            "２０２６-０１-０１",  # fullwidth digits
            "\x00",
            "a\x00b",
            "\r\n",
            "me",
            "../..",
            "<script>alert(1)</script>",
            "drgero_notarealtoken0000",
            "1e309",
            "NaN",
        ]
    ),
    st.dates().map(str),
    st.integers().map(str),
    st.binary(max_size=24).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")),
)


def query(names: list[str]) -> st.SearchStrategy[str]:
    """A query string: any of ``names`` (and a stranger), any number of times, nasty values."""
    pairs = st.lists(st.tuples(st.sampled_from([*names, "x"]), NASTY), max_size=8)
    return pairs.map(urlencode)


RUN_PARAMS = [
    "status",
    "model",
    "started_by",
    "origin",
    "since",
    "until",
    "sort",
    "after",
    "before",
    "live",
    "poll",
]
AUDIT_PARAMS = ["actor", "action", "model", "outcome", "since", "until", "after", "before"]


class Checked:
    """A member's client that checks the property after every request."""

    def __init__(self, client: Any, sandbox: SandboxServer, caplog: Any) -> None:
        self.client, self.sandbox, self.caplog = client, sandbox, caplog

    def request(self, method: str, path: str, data: Any = None, **headers: Any) -> Any:
        self.caplog.clear()
        writes = self._writes()
        call = self.client.get if method == "GET" else self.client.post
        response = call(path, data, **headers) if data is not None else call(path, **headers)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        assert response.status_code < 500, (method, path, data, response.status_code)
        errors = [r for r in self.caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert errors == [], [r.getMessage() for r in errors]
        if response.status_code in (400, 403, 404, 422) and method == "POST":
            assert self._writes() == writes, "a refused input changed something upstream"
        return response

    def _writes(self) -> int:
        return sum(1 for r in self.sandbox.state.seen if r.method != "GET")


@pytest.fixture
def viewer(login_as: Any, sandbox: SandboxServer, caplog: Any) -> Checked:
    client = login_as(Role.VIEWER, token="drgero_sandbox_full")
    sweep()
    caplog.set_level(logging.INFO)
    return Checked(client, sandbox, caplog)


@pytest.fixture
def admin(login_as: Any, sandbox: SandboxServer, caplog: Any) -> Checked:
    client = login_as(Role.ADMIN, token="drgero_sandbox_full", username="boss")
    sweep()
    caplog.set_level(logging.INFO)
    return Checked(client, sandbox, caplog)


def a_model(sandbox: SandboxServer) -> str:
    return next(m for m, v in sandbox.state.models.items() if v["_workspace"] == "ws_main")


@given(qs=query(RUN_PARAMS), htmx=st.booleans())
def test_the_run_history_pages(
    viewer: Checked, sandbox: SandboxServer, qs: str, htmx: bool
) -> None:
    headers = HTMX if htmx else {}
    viewer.request("GET", f"/runs/?{qs}", **headers)
    viewer.request("GET", f"/models/{a_model(sandbox)}/runs/?{qs}", **headers)


@given(qs=query(AUDIT_PARAMS), htmx=st.booleans())
def test_the_audit_log(viewer: Checked, qs: str, htmx: bool) -> None:
    viewer.request("GET", f"/audit/?{qs}", **(HTMX if htmx else {}))


@given(qs=query(RUN_PARAMS + AUDIT_PARAMS), kind=st.sampled_from(["runs", "model", "csv", "jsonl"]))
def test_the_exports(viewer: Checked, sandbox: SandboxServer, qs: str, kind: str) -> None:
    path = {
        "runs": "/runs/export.csv",
        "model": f"/models/{a_model(sandbox)}/runs/export.csv",
        "csv": "/audit/export.csv",
        "jsonl": "/audit/export.jsonl",
    }[kind]
    response = viewer.request("GET", f"{path}?{qs}")
    assert response.status_code in (200, 400)


@given(qs=query(["q", "page", "offset", "limit"]))
def test_the_models_list(viewer: Checked, qs: str) -> None:
    viewer.request("GET", f"/models/?{qs}")


def form(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from([*fields, "x"]), NASTY, max_size=len(fields) + 1)


MODEL_FIELDS = [
    "name",
    "description",
    "leaderboards",
    "leaderboard_ids",
    "creation_mode",
    "auto_update_model",
    "continuous_self_learning",
    "hypertuning_parameters",
    "intent",
]
RUN_FIELDS = ["size", "rows", "algorithm", "create_synthetic_data", "hypertuning_enabled"]
SCHEDULE_FIELDS = ["enabled", "cadence", "size", "rows", "algorithm", "model_name", "note"]


@given(data=form(MODEL_FIELDS))
def test_the_model_create_form(admin: Checked, data: dict[str, Any]) -> None:
    admin.request("POST", "/models/new/", data, **HTMX)


@given(data=form(MODEL_FIELDS))
def test_the_model_edit_form(admin: Checked, sandbox: SandboxServer, data: dict[str, Any]) -> None:
    admin.request("POST", f"/models/{a_model(sandbox)}/edit/", data)


@given(data=form(RUN_FIELDS), submission=NASTY)
def test_the_run_start_form(
    admin: Checked, sandbox: SandboxServer, data: dict[str, Any], submission: str
) -> None:
    model = a_model(sandbox)
    admin.request("POST", f"/models/{model}/runs/preview/", data, **HTMX)
    admin.request("GET", f"/models/{model}/runs/new/?{urlencode({'submission': submission})}")


@given(note=NASTY)
def test_the_run_confirmation_and_its_why(
    admin: Checked, sandbox: SandboxServer, note: str
) -> None:
    from console.models import RunSubmission

    model = sandbox.state.add_model("ws_main", name="Why")["id"]  # none of its runs going
    rows = {"size": "rows", "rows": "10", "algorithm": "LAST_N"}
    admin.request("POST", f"/models/{model}/runs/preview/", rows)
    submission = RunSubmission.objects.filter(state="pending").latest("created_at")
    admin.request("POST", f"/models/{model}/runs/confirm/{submission.pk}/", {"note": note})


@given(qs=query(["m", "page"]))
def test_the_inbox_and_the_models_lists_poll(viewer: Checked, qs: str) -> None:
    viewer.request("GET", f"/models/latest-runs/?{qs}", **HTMX)
    viewer.request("GET", f"/inbox/?{qs}")
    viewer.request("POST", "/inbox/read/", {"x": qs})


@given(data=form(SCHEDULE_FIELDS), step=st.sampled_from(["preview", "confirm"]))
def test_the_schedule_form(
    admin: Checked, sandbox: SandboxServer, data: dict[str, Any], step: str
) -> None:
    model = a_model(sandbox)
    admin.request("POST", f"/models/{model}/schedule/{step}/", data, **HTMX)
    admin.request("GET", f"/models/{model}/schedule/?{urlencode(data)}")


@given(data=form(["confirm_name"]))
def test_the_delete_form(admin: Checked, sandbox: SandboxServer, data: dict[str, Any]) -> None:
    response = admin.request("POST", f"/models/{a_model(sandbox)}/delete/", data)
    if response.status_code != 302:
        assert not AuditEvent.objects.filter(action="model.delete").exists()


@given(data=form(["username", "email", "role", "password"]))
def test_the_team_add_form(admin: Checked, data: dict[str, Any]) -> None:
    admin.request("POST", "/team/add/", data, **HTMX)


@given(data=form(["url", "remove"]))
def test_the_webhook_form(admin: Checked, data: dict[str, Any]) -> None:
    admin.request("POST", "/team/webhook/", data)


@given(data=form(["email", "email_my_runs", "email_team_failures", "time_zone", "theme"]))
def test_the_notifications_form(admin: Checked, data: dict[str, Any]) -> None:
    admin.request("POST", "/account/notifications/", data)


@given(data=form(["token", "label"]))
def test_the_token_form(admin: Checked, data: dict[str, Any]) -> None:
    admin.request("POST", "/account/token/", data, **HTMX)


@given(data=form(["run_id", "next"]))
def test_the_sync_request(admin: Checked, sandbox: SandboxServer, data: dict[str, Any]) -> None:
    admin.request("POST", f"/models/{a_model(sandbox)}/sync/", data)


@given(data=form(["username", "password"]))
def test_the_log_in_form(viewer: Checked, data: dict[str, Any]) -> None:
    from django.test import Client

    anonymous = Checked(Client(), viewer.sandbox, viewer.caplog)
    anonymous.request("POST", "/login/", data)


@given(data=form(["role", "step"]))
def test_the_role_form(admin: Checked, data: dict[str, Any]) -> None:
    from django.contrib.auth import get_user_model

    member = get_user_model().objects.get_or_create(username="someone")[0]
    admin.request("POST", f"/team/{member.pk}/role/", data)


@given(data=form(["old_password", "new_password1", "new_password2"]))
def test_the_password_change_form(viewer: Checked, data: dict[str, Any]) -> None:
    viewer.request("POST", "/account/password/", data)
