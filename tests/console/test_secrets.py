"""A canary token saved through the form appears nowhere: pages, logs, database, audit, errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from console.roles import Role
from drgero_client.sandbox import SandboxServer
from drgero_client.sandbox.state import TokenGrant
from tests.console.conftest import HTMX
from tests.console.test_authorisation_matrix import MATRIX, PATTERNS, url_for

CANARY = "drgero_canaryQ7x3Lm9Vt2Rw8Kp4"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def canary_saved(sandbox: SandboxServer, login_as) -> Client:  # type: ignore[no-untyped-def]
    sandbox.state.tokens[CANARY] = TokenGrant("ws_main", ("*",))
    client = login_as(Role.ADMIN, username="owner")
    response = client.post("/account/token/", {"token": CANARY, "label": "canary"})
    assert response.status_code == 302
    return client


def every_text_column() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608  (names from introspection)
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_the_canary_appears_in_no_page_log_row_or_file(
    canary_saved: Client, login_as: Any, caplog: pytest.LogCaptureFixture, sandbox: SandboxServer
) -> None:
    caplog.set_level(logging.DEBUG)
    model_id = next(m["id"] for m in sandbox.state.models.values() if m["fine_tune_schedule"])
    clients = {"admin": canary_saved}
    for role in (Role.VIEWER, Role.OPERATOR):
        clients[role.name] = login_as(role)
    pages = 0
    for name, route in PATTERNS:
        _, method = MATRIX[name]
        if method != "GET":
            continue
        path = url_for(route, canary_saved.user.pk).replace(  # type: ignore[attr-defined]
            "00000000-0000-0000-0000-000000000000", model_id
        )
        for client in clients.values():
            for headers in ({}, HTMX):
                response = client.get(path, **headers)
                body = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                )
                assert CANARY.encode() not in body, path
                assert CANARY[-10:].encode() not in body, path
                pages += 1
    assert pages > 100
    assert CANARY not in caplog.text
    assert CANARY not in every_text_column()
    if connection.vendor == "sqlite":
        database = Path(connection.settings_dict["NAME"])
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                assert CANARY.encode() not in path.read_bytes()


def test_django_error_page_hides_the_token(
    sandbox: SandboxServer, login_as: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.state.tokens[CANARY] = TokenGrant("ws_main", ("*",))
    settings.DEBUG = True  # the technical error page, with local variables
    import console.services.tokens as tokens

    def explode(token: str) -> None:
        raise RuntimeError("forced failure while building the client")

    monkeypatch.setattr(tokens, "build_client", explode)
    client = login_as(Role.VIEWER)
    client.raise_request_exception = False
    response = client.post("/account/token/", {"token": CANARY, "label": "x"})
    assert response.status_code == 500
    assert b"forced failure" in response.content  # it is the technical page
    assert CANARY.encode() not in response.content
