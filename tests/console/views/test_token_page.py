"""The My token page: full page and htmx, never echoing a token."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from console.models import DrGeroToken
from console.roles import Role
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import HTMX

pytestmark = pytest.mark.django_db


class Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "input":
            data = dict(attrs)
            self.inputs[data.get("name", "")] = data


def inputs(html: bytes) -> dict[str, dict]:
    parser = Inputs()
    parser.feed(html.decode())
    return parser.inputs


def test_the_page_invites_a_member_without_a_token(login_as) -> None:  # type: ignore[no-untyped-def]
    response = login_as(Role.VIEWER).get("/account/token/")
    assert response.status_code == 200
    assert b"Add your token" in response.content
    assert inputs(response.content)["token"]["type"] == "password"


def test_an_htmx_post_renders_only_the_form_partial(login_as, sandbox: SandboxServer) -> None:  # type: ignore[no-untyped-def]
    response = login_as(Role.VIEWER).post(
        "/account/token/", {"token": "drgero_unknown_token_x", "label": "mine"}, **HTMX
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card" id="token-form"')
    assert "drgero_unknown_token_x" not in body
    assert "value" not in inputs(response.content)["token"]
    assert inputs(response.content)["label"]["value"] == "mine"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Paste your Dr.Gero token"),
        ("abc_123456", "start with drgero_"),
        ("drgero_ abc", "no spaces"),
        ("drgero_sandbox\u200b_full", "letters, digits, _ and - only"),  # zero-width space
        ("drgero_sandbox\u00a0full", "letters, digits, _ and - only"),  # non-breaking space
        ("drgero_sändbox_full", "letters, digits, _ and - only"),
        ("drgero_sandbox_full\u2019", "letters, digits, _ and - only"),  # a curly quote
        ("\ufeffdrgero_sandbox_full", "letters, digits, _ and - only"),  # a byte-order mark
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    login_as, sandbox, text, message
) -> None:  # type: ignore[no-untyped-def]
    response = login_as(Role.VIEWER).post("/account/token/", {"token": text})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not DrGeroToken.objects.exists()
    assert sandbox.state.seen == []


def test_a_saved_token_redirects_htmx_to_the_page(login_as, sandbox: SandboxServer) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.VIEWER)
    response = client.post("/account/token/", {"token": "drgero_sandbox_full"}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/account/token/"
    page = client.get("/account/token/").content.decode()
    assert "drgero_…full" in page and "drgero_sandbox_full" not in page
    assert "Your Dr.Gero token was checked and saved." in page


def test_an_unreadable_token_asks_for_re_entry_not_a_500(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.VIEWER, token="drgero_token_to_damage")
    DrGeroToken.objects.update(ciphertext="v1:test1:AAAA")
    response = client.get("/account/token/")
    assert response.status_code == 200
    assert b"Please enter your token again" in response.content


def test_a_refused_scope_is_shown(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.VIEWER, token="drgero_token_refused_x")
    DrGeroToken.objects.update(refused_scopes=["models:write"])
    assert b"Dr.Gero has since refused: models:write" in client.get("/account/token/").content
