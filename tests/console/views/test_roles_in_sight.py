"""Your role in sight: the header says it, the navigation shows only what it may open, and where
a button is missing for a role, a note says why and whom to ask. The matrix below is the
contract: for each role, the notes and links each page shows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from console.models import MemberSettings
from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.console.views.test_runs_pages import record

pytestmark = pytest.mark.django_db

FULL = "drgero_sandbox_full"
OPERATOR_NOTE = "needs the Operator role"
ADMIN_NOTE = "needs the Admin role"


def notes(body: str) -> list[str]:
    return re.findall(r'<span class="needs-role" tabindex="0">([^<]*)</span>', body)


def nav(body: str) -> list[str]:
    menu = body[body.index('<nav aria-label="Main">') : body.index("</nav>")]
    return re.findall(r'<a href="[^"]*"[^>]*>([^<]+)</a>', menu)


@pytest.fixture
def team(make_member: Any) -> None:
    make_member("ana", Role.ADMIN)
    make_member("bo", Role.ADMIN)


@pytest.mark.parametrize(
    ("role", "label", "links"),
    [
        (Role.VIEWER, "Viewer", ["Models", "Runs", "Audit log", "Base models", "My token"]),
        (Role.OPERATOR, "Operator", ["Models", "Runs", "Audit log", "Base models", "My token"]),
        (
            Role.ADMIN,
            "Admin",
            ["Models", "Runs", "Audit log", "Base models", "Team", "My token"],
        ),
    ],
)
def test_the_header_names_you_and_your_role_and_the_nav_only_what_you_may_open(
    login_as: Any, role: Role, label: str, links: list[str]
) -> None:
    body = login_as(role, username="olga").get("/runs/").content.decode()
    assert f'olga · <span class="whoami__role">{label}</span>' in body
    assert nav(body) == links


# role → (notes on the model page, notes on its runs page, notes on a run's page)
MATRIX = {
    Role.VIEWER: (
        ["Starting runs and editing this model need the Operator role"],
        ["Starting runs and checking Dr.Gero for updates need the Operator role"],
        ["Running again and checking for updates need the Operator role"],
    ),
    Role.OPERATOR: (["Deleting a model needs the Admin role"], [], []),
    Role.ADMIN: ([], [], []),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_each_role_sees_exactly_the_notes_of_the_matrix(
    login_as: Any, sandbox: SandboxServer, team: None, role: Role
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Noted")["id"]
    record(1, model_id=model_id, model_name="Noted")
    client = login_as(role, token=FULL)
    pages = (f"/models/{model_id}/", f"/models/{model_id}/runs/", "/runs/r1/")
    for path, expected in zip(pages, MATRIX[role], strict=True):
        body = client.get(path).content.decode()
        found = notes(body)
        assert [n.split(" — ")[0] for n in found] == [e for e in expected], path
        assert all(n.endswith("— ask an Admin: ana or bo.") for n in found), found
        start_run = f'href="/models/{model_id}/runs/new/"'
        assert (start_run in body) == (role >= Role.OPERATOR and path != "/runs/r1/"), path
        assert (f'href="/models/{model_id}/delete/"' in body) == (
            role == Role.ADMIN and path == pages[0]
        ), path


def test_the_models_list_says_why_a_viewer_has_no_new_model_button(
    login_as: Any, sandbox: SandboxServer, team: None
) -> None:
    body = login_as(Role.VIEWER, token=FULL).get("/models/").content.decode()
    assert notes(body) == ["Creating models needs the Operator role — ask an Admin: ana or bo."]
    assert 'href="/models/new/"' not in body
    body = login_as(Role.OPERATOR, token=FULL).get("/models/").content.decode()
    assert notes(body) == [] and 'href="/models/new/"' in body


def test_a_viewer_sees_why_the_schedule_cannot_be_changed(
    login_as: Any, sandbox: SandboxServer, team: None
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Scheduled")["id"]
    body = login_as(Role.VIEWER, token=FULL).get(f"/models/{model_id}/schedule/").content
    assert notes(body.decode()) == [
        "Changing the schedule needs the Operator role — ask an Admin: ana or bo."
    ]


def test_one_admin_is_named_alone(login_as: Any, make_member: Any) -> None:
    make_member("ana", Role.ADMIN)
    make_member("gone", Role.ADMIN).__class__.objects.filter(username="gone").update(
        is_active=False
    )
    response = login_as(Role.VIEWER).get("/team/")
    assert response.status_code == 403
    assert "ask Admin ana to change your role" in response.content.decode()


def test_an_operator_without_a_token_is_told_to_add_one_where_runs_start(
    login_as: Any, sandbox: SandboxServer
) -> None:
    record(1, model_id="m1")
    client = login_as(Role.OPERATOR)
    body = client.get("/models/m1/runs/").content.decode()
    assert 'id="token-banner"' in body and 'href="/account/token/"' in body
    assert 'href="/models/m1/runs/new/"' not in body and "Check Dr.Gero for updates" not in body
    assert 'id="token-banner"' in client.get("/runs/r1/").content.decode()
    holder = login_as(Role.OPERATOR, token=FULL, username="has-token")
    with_token = holder.get("/models/m1/runs/").content.decode()
    assert 'id="token-banner"' not in with_token and 'href="/models/m1/runs/new/"' in with_token
    viewer = login_as(Role.VIEWER).get("/models/m1/runs/").content.decode()
    assert 'id="token-banner"' not in viewer


def test_a_saved_token_offers_the_next_step(login_as: Any, sandbox: SandboxServer) -> None:
    client = login_as(Role.OPERATOR)
    assert "Next: go to your models" not in client.get("/account/token/").content.decode()
    saved = client.post("/account/token/", {"token": FULL, "label": ""}, follow=True)
    body = saved.content.decode()
    assert "checked and saved" in body
    assert '<a class="button button--primary" href="/models/">Next: go to your models</a>' in body


@pytest.mark.parametrize(
    ("choice", "attribute"),
    [("dark", ' data-theme="dark"'), ("light", ' data-theme="light"'), ("system", "")],
)
def test_the_colours_chosen_on_the_settings_page_apply_to_every_page(
    login_as: Any, choice: str, attribute: str
) -> None:
    client: Client = login_as(Role.VIEWER)
    saved = client.post("/account/notifications/", {"theme": choice, "email_my_runs": "on"})
    assert saved.status_code == 302
    assert MemberSettings.objects.get(user=client.user).theme == choice  # type: ignore[attr-defined]
    html_tag = client.get("/runs/").content.decode().split(">", 2)[1]
    assert html_tag == f'\n<html lang="en"{attribute}'


def test_the_colours_are_read_once_per_session_from_the_database(
    login_as: Any, make_member: Any
) -> None:
    client: Client = login_as(Role.VIEWER)
    MemberSettings.objects.create(user=client.user, theme="dark")  # type: ignore[attr-defined]
    assert 'data-theme="dark"' in client.get("/runs/").content.decode()
    fresh = Client()
    fresh.force_login(client.user)  # type: ignore[attr-defined]
    assert 'data-theme="dark"' in fresh.get("/audit/").content.decode()
