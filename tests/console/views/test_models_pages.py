"""Model pages: full and htmx, forms that keep input, and the fault matrix on every one."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from console.models import AuditEvent
from console.roles import Role
from drgero_client.sandbox import DOCUMENTED_LEADERBOARD_ID, SandboxServer
from drgero_client.sandbox.state import TokenGrant
from tests.console.conftest import HTMX
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db

FULL = "drgero_sandbox_full"
FORM = {
    "name": "Typed Name",
    "description": "Typed description",
    "creation_mode": "auto",
    "leaderboards": [DOCUMENTED_LEADERBOARD_ID],
    "auto_update_model": "on",
}


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, Any]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(response: Any) -> list[tuple[str, dict[str, Any]]]:
    tree = Tree()
    tree.feed(response.content.decode())
    return tree.tags


@pytest.fixture
def operator(login_as: Any) -> Client:
    return login_as(Role.OPERATOR, token=FULL)


@pytest.fixture
def admin(login_as: Any) -> Client:
    return login_as(Role.ADMIN, token=FULL)


def a_model(sandbox: SandboxServer, **fields: Any) -> str:
    return sandbox.state.add_model("ws_main", **{"name": "Subject", **fields})["id"]


# List.


def test_the_list_shows_models(operator: Client, sandbox: SandboxServer) -> None:
    response = operator.get("/models/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Support Assistant" in body and "6 models" in body and "New model" in body


def test_htmx_search_swaps_only_the_table(operator: Client, sandbox: SandboxServer) -> None:
    response = operator.get("/models/?q=billing", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="models-table">')
    assert "Billing Helper" in body and "Support Assistant" not in body
    assert "HX-Request" in response["Vary"]


def test_the_search_box_waits_for_typing_and_syncs(
    operator: Client, sandbox: SandboxServer
) -> None:
    form = next(
        a for t, a in tags(operator.get("/models/")) if t == "form" and a.get("role") == "search"
    )
    assert "delay:300ms" in form["hx-trigger"] and form["hx-sync"] == "this:replace"
    assert form["hx-push-url"] == "true"


def test_a_boosted_request_gets_the_whole_page(operator: Client, sandbox: SandboxServer) -> None:
    response = operator.get("/models/", HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
    assert b"<html" in response.content


def test_no_search_match_has_an_empty_state(operator: Client, sandbox: SandboxServer) -> None:
    assert "No model's name contains" in operator.get("/models/?q=zzz").content.decode()


def test_a_viewer_does_not_see_new_model(login_as: Any, sandbox: SandboxServer) -> None:
    assert b"New model" not in login_as(Role.VIEWER, token=FULL).get("/models/").content


@pytest.mark.parametrize("path", ["/models/", "/models/new/", "/base-models/", "/models/abc/edit/"])
def test_a_member_without_a_token_is_invited_to_add_one(login_as: Any, path: str) -> None:
    response = login_as(Role.ADMIN).get(path)
    assert response.status_code == 200
    assert b"Add your token" in response.content and b'href="/account/token/"' in response.content


def test_a_model_the_record_does_not_know_says_so_to_a_member_without_a_token(
    login_as: Any,
) -> None:
    response = login_as(Role.ADMIN).get("/models/abc/")
    assert response.status_code == 404
    assert b"The console has no record of this model" in response.content


# Create.


def test_create_redirects_to_the_new_model(operator: Client, sandbox: SandboxServer) -> None:
    response = operator.post("/models/new/", FORM, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/models/")
    created = [m for m in sandbox.state.models.values() if m["name"] == "Typed Name"]
    assert created and created[0]["leaderboard_ids"] == [DOCUMENTED_LEADERBOARD_ID]
    page = operator.get(response["HX-Redirect"]).content.decode()
    assert "“Typed Name” was created in Dr.Gero." in page


def test_a_missing_name_is_an_error_at_the_field_and_nothing_is_sent(
    operator: Client, sandbox: SandboxServer
) -> None:
    response = operator.post("/models/new/", {**FORM, "name": ""}, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="model-form">')
    assert 'id="id_name_error"' in body and "Give the model a name." in body
    assert "Typed description" in body
    assert sandbox.state.count("POST", "/api/models") == 0


def test_without_leaderboard_access_the_form_asks_for_ids(
    login_as: Any, sandbox: SandboxServer
) -> None:
    sandbox.state.tokens["drgero_models_rw_only"] = TokenGrant(
        "ws_main", ("models:read", "models:write")
    )
    client = login_as(Role.OPERATOR, token="drgero_models_rw_only")
    assert b'name="leaderboard_ids"' in client.get("/models/new/").content
    bad = client.post(
        "/models/new/", {"name": "x", "creation_mode": "auto", "leaderboard_ids": "not-an-id"}
    )
    assert bad.status_code == 422 and b"These are not leaderboard ids" in bad.content
    good = client.post(
        "/models/new/",
        {"name": "By ids", "creation_mode": "auto", "leaderboard_ids": DOCUMENTED_LEADERBOARD_ID},
    )
    assert good.status_code == 302


def test_dr_geros_400_is_shown_at_the_field(operator: Client, sandbox: SandboxServer) -> None:
    sandbox.arm(
        "/api/models",
        method="POST",
        status=400,
        body={"error": "Invalid model fields", "details": {"name": "Name is taken"}},
    )
    response = operator.post("/models/new/", FORM)
    assert response.status_code == 422
    assert "Dr.Gero: Name is taken" in response.content.decode()


# Detail, edit, delete.


def test_detail_shows_fields_leaderboards_runs_and_other_details(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox, leaderboard_ids=[DOCUMENTED_LEADERBOARD_ID], colour="teal")
    sandbox.state.add_run(model_id, outcome="FAILED", error="Out of memory")
    sandbox.state.clock.advance(3600)
    sweep()  # the worker reads the runs; the page reads the mirror
    body = operator.get(f"/models/{model_id}/").content.decode()
    assert "Customer Support QA" in body and "Out of memory" in body
    assert "Other details" in body and "colour" in body and "teal" in body
    assert "Failed" in body


def test_edit_is_prefilled_and_patches_only_changes(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox, description="before", leaderboard_ids=[DOCUMENTED_LEADERBOARD_ID])
    page = operator.get(f"/models/{model_id}/edit/")
    checked = [
        a["value"]
        for t, a in tags(page)
        if t == "input" and "checked" in a and a.get("name") == "leaderboards"
    ]
    assert checked == [DOCUMENTED_LEADERBOARD_ID]
    form = {
        "name": "Subject",
        "description": "after",
        "creation_mode": "auto",
        "leaderboards": [DOCUMENTED_LEADERBOARD_ID],
    }
    response = operator.post(f"/models/{model_id}/edit/", form)
    assert response.status_code == 302
    assert [r.body for r in sandbox.state.seen if r.method == "PATCH"] == [
        b'{"description":"after"}'
    ]


def test_delete_confirms_by_name_with_focus_on_cancel(
    admin: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(sandbox, name="Doomed")
    page = admin.get(f"/models/{model_id}/delete/")
    body = page.content.decode()
    assert "for the whole workspace" in body and "Doomed" in body
    cancel = next(a for t, a in tags(page) if t == "a" and "autofocus" in a)
    assert cancel["href"] == f"/models/{model_id}/"
    wrong = admin.post(f"/models/{model_id}/delete/", {"confirm_name": "doomed"})
    assert wrong.status_code == 422 and model_id in sandbox.state.models
    assert b"nothing was deleted" in wrong.content
    done = admin.post(f"/models/{model_id}/delete/", {"confirm_name": "Doomed"})
    assert done.status_code == 302 and model_id not in sandbox.state.models
    assert (
        json.loads(AuditEvent.objects.get(action="model.delete").changes)["before"]["name"]
        == "Doomed"
    )


def test_an_operator_cannot_delete(operator: Client, sandbox: SandboxServer) -> None:
    model_id = a_model(sandbox)
    assert (
        operator.post(f"/models/{model_id}/delete/", {"confirm_name": "Subject"}).status_code == 403
    )
    assert model_id in sandbox.state.models


def test_base_models_table(operator: Client, sandbox: SandboxServer) -> None:
    body = operator.get("/base-models/").content.decode()
    assert "Llama 3.1 8B Instruct" in body and "Mistral AI" in body


def test_html_in_names_and_descriptions_renders_inert(
    operator: Client, sandbox: SandboxServer
) -> None:
    model_id = a_model(
        sandbox, name="<img src=x onerror=alert(1)>", description="<script>alert('d')</script>"
    )
    for path in ("/models/", f"/models/{model_id}/", f"/models/{model_id}/edit/"):
        body = operator.get(path).content.decode()
        assert "<img src=x" not in body and "<script>alert" not in body, path
        assert "&lt;img src=x onerror=alert(1)&gt;" in body, path


# The fault matrix.

SCOPE_BODY = {
    "error": "This token lacks the models:write scope",
    "code": "insufficient_scope",
    "details": {"required_scope": "models:write"},
}
FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "401": ({"status": 401}, "did not accept your token"),
    "402": ({"status": 402}, "paid Dr.Gero plan"),
    "403": ({"status": 403, "body": SCOPE_BODY}, "lacks models:write"),
    "404": ({"status": 404}, "no longer exists"),
    "409": ({"status": 409}, "can&#x27;t do that right now"),
    "429": ({"status": 429, "headers": {"Retry-After": "30"}}, "try again in 30 seconds"),
    "500": ({"status": 500}, "did not answer properly (500)"),
    "502": ({"status": 502}, "did not answer properly (502)"),
    "503": ({"status": 503}, "did not answer properly (503)"),
    "timeout": ({"kind": "delay", "delay_s": 0.9}, "did not answer"),
    "nonjson": ({"kind": "nonjson"}, "could not read"),
}


def page_cases(model_id: str) -> list[tuple[str, str, str]]:
    return [
        ("/models/", "GET", r"/api/models"),
        (f"/models/{model_id}/", "GET", r"/api/models/[^/]+"),
        ("/base-models/", "GET", r"/api/base-models"),
    ]


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_every_page_explains_every_fault(admin: Client, sandbox: SandboxServer, fault: str) -> None:
    spec, words = FAULTS[fault]
    model_id = a_model(sandbox)
    for path, method, pattern in page_cases(model_id):
        sandbox.reset()
        sandbox.state.add_model("ws_main", id=model_id, name="Subject")
        sandbox.arm(pattern, method=method, **spec)
        for headers in ({}, HTMX):
            response = admin.get(path, **headers)
            assert response.status_code not in (200, 500) or words == "did not accept your token"
            assert response.status_code != 500, (path, fault)
            assert words in response.content.decode(), (path, fault)
            assert b"Traceback" not in response.content


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_every_form_keeps_its_input_under_every_fault(
    admin: Client, sandbox: SandboxServer, fault: str
) -> None:
    spec, words = FAULTS[fault]
    model_id = a_model(sandbox)
    forms = [
        ("/models/new/", FORM, "POST", r"/api/models", "Typed description"),
        (
            f"/models/{model_id}/edit/",
            {**FORM, "description": "Edited text"},
            "PATCH",
            r"/api/models/[^/]+",
            "Edited text",
        ),
        (
            f"/models/{model_id}/delete/",
            {"confirm_name": "Subject"},
            "DELETE",
            r"/api/models/[^/]+",
            "Subject",
        ),
    ]
    for path, data, method, pattern, kept in forms:
        sandbox.reset()
        sandbox.state.add_model("ws_main", id=model_id, name="Subject")
        sandbox.arm(pattern, method=method, **spec)
        response = admin.post(path, data, **HTMX)
        body = response.content.decode()
        assert response.status_code == 422, (path, fault)
        assert words in body, (path, fault)
        assert kept in body, (path, fault)
        assert sandbox.state.count(method, pattern) == 1, (path, fault)


def test_the_latest_runs_update_themselves_while_a_run_is_going(
    operator: Client, sandbox: SandboxServer
) -> None:
    from django.utils import timezone

    from console.models import ModelSyncState, RunRecord

    model_id = sandbox.state.add_model("ws_main", name="Live One")["id"]
    ModelSyncState.objects.create(model_id=model_id, model_name="Live One")  # as the mirror has
    now = timezone.now()
    run = RunRecord.objects.create(
        run_id="live-1",
        model_id=model_id,
        model_name="Live One",
        status="RUNNING",
        category="running",
        created_at=now,
        first_seen_at=now,
        origin="console",
    )
    page = operator.get("/models/?q=Live One").content.decode()
    poll = f"/models/latest-runs/?m={model_id}"
    assert f'hx-get="{poll}"' in page and 'hx-trigger="every 5s"' in page
    assert '<a href="/runs/live-1/">' in page  # the latest run links to its page
    calls = len(sandbox.state.seen)
    going = operator.get(poll, **HTMX)
    assert going.status_code == 200
    assert "Latest runs update every 5 seconds" in going.content.decode()
    assert 'id="latest-run-0" hx-swap-oob="true"' in going.content.decode()
    assert len(sandbox.state.seen) == calls  # the mirror answers; Dr.Gero is not asked
    RunRecord.objects.filter(pk=run.pk).update(status="FAILED", category="failed")
    ended = operator.get(poll, **HTMX)
    body = ended.content.decode()
    assert ended.status_code == 286  # htmx stops polling after this swap
    assert "Failed" in body and "hx-trigger" not in body


def test_a_list_with_nothing_going_does_not_poll(operator: Client, sandbox: SandboxServer) -> None:
    page = operator.get("/models/").content.decode()
    assert "/models/latest-runs/" not in page
