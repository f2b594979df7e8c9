"""Found from the outside: requests that once answered 500, hung, walked out of their path or
lost what was typed. Each test here failed before its fix."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from console.models import AuditEvent
from console.roles import Role
from console.services.audit import Actor, Target, audit_record
from drgero_client import DrGeroClient
from drgero_client.sandbox import SandboxServer
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db

LISTS = ["/runs/", "/models/{model}/runs/", "/audit/"]
EXPORTS = [
    "/runs/export.csv",
    "/models/{model}/runs/export.csv",
    "/audit/export.csv",
    "/audit/export.jsonl",
]
EXTREME_DATES = ["9999-12-31", "0001-01-01", "1969-12-31", "3000-01-01", "2026-02-30", "+1"]


@pytest.fixture
def viewer(login_as: Any, sandbox: SandboxServer) -> Any:
    client = login_as(Role.VIEWER, token="drgero_sandbox_full")
    sweep()
    client.model = next(iter(sandbox.state.models))  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize("date", EXTREME_DATES)
@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("url", LISTS)
def test_dates_at_the_extremes_are_form_errors(viewer: Any, url: str, name: str, date: str) -> None:
    response = viewer.get(url.format(model=viewer.model), {name: date})
    assert response.status_code == 200
    assert "field-errors" in response.content.decode()


@pytest.mark.parametrize("url", EXPORTS)
def test_exports_with_unreadable_filters_export_nothing(viewer: Any, url: str) -> None:
    response = viewer.get(url.format(model=viewer.model), {"until": "9999-12-31"})
    assert response.status_code == 400
    assert "The export was not made" in response.content.decode()
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        {"after": _raw("i1\x1f1")},
        {"before": _raw("i1\x1f1")},
        {"sort": "longest", "after": _raw("d2026-01-01T00:00:00\x1f5")},
        {"sort": "status", "before": _raw("s\x00\x1f-1")},
        {"after": "x" * 3000},
        {"before": "a:b:c"},
    ],
)
def test_made_up_run_cursors_are_ignored(viewer: Any, query: dict[str, str]) -> None:
    first = viewer.get("/runs/").content.decode()
    response = viewer.get("/runs/", query)
    assert response.status_code == 200
    assert response.content.decode().count("<tr") == first.count("<tr")


def test_a_cursor_from_another_order_is_ignored(viewer: Any) -> None:
    from console.selectors.runs import RunFilters, runs_page

    newest = runs_page(RunFilters(), after="")
    cursor = newest.next_cursor or runs_page(RunFilters()).prev_cursor
    from console.selectors.cursors import cursor_make

    made = cursor_make("newest", newest.runs[-1].created_at, newest.runs[-1].pk)
    longest = viewer.get("/runs/", {"sort": "longest", "after": made})
    assert longest.status_code == 200
    assert cursor is None or isinstance(cursor, str)


@pytest.mark.parametrize(
    "path", ["/models/../", "/models/./", "/models/../sync/", "/models/%2e%2e/", "/models/./runs/"]
)
def test_model_ids_cannot_walk_out_of_their_path(
    login_as: Any, sandbox: SandboxServer, path: str
) -> None:
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    response = operator.post(path) if path.endswith("sync/") else operator.get(path)
    assert response.status_code == 404
    assert sandbox.state.seen == []


@pytest.mark.parametrize("ident", ["", ".", "..", "..."])
def test_the_client_refuses_ids_made_of_dots(sandbox: SandboxServer, ident: str) -> None:
    client = DrGeroClient(sandbox.url, "drgero_sandbox_full")
    with pytest.raises(ValueError, match="not a Dr.Gero id"):
        client.get_model(ident)
    assert sandbox.state.seen == []


def test_an_export_that_fails_midway_says_so_in_the_file_and_the_log(
    viewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        audit_record(
            actor=Actor(None, "system"),
            action="model.update",
            outcome="succeeded",
            target=Target("model", f"m{n}", "M"),
        )
    from console.selectors import audit as audit_selectors

    real = audit_selectors._tuples

    def breaks(filters: Any) -> Any:
        rows = real(filters)
        yield next(rows)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(audit_selectors, "_tuples", breaks)
    response = viewer.get("/audit/export.csv")
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert body.rstrip().endswith(
        "# The export stopped early because of an error; this file is incomplete."
    )
    event = AuditEvent.objects.get(action="audit.export")
    assert event.outcome == "failed" and "stopped early" in event.message


def test_a_finished_export_is_audited_as_succeeded(viewer: Any) -> None:
    response = viewer.get("/audit/export.jsonl")
    b"".join(response.streaming_content)
    assert AuditEvent.objects.get(action="audit.export").outcome == "succeeded"


def test_pages_share_one_deadline_for_dr_gero(
    login_as: Any, sandbox: SandboxServer, settings: Any
) -> None:
    settings.DRGERO_PAGE_BUDGET = 1.0
    settings.DRGERO_TIMEOUT = (1.0, 0.6)
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    sandbox.arm(r"/api/models", method="GET", kind="delay", delay_s=0.8)
    response = operator.get("/models/")
    assert response.status_code in (502, 504)
    # 0.6 s read timeout, retried: without the page's deadline three tries would be made.
    assert sandbox.state.count("GET", r"/api/models") <= 2


TRANSIENT_FAULTS = {
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "429": {"status": 429, "headers": {"Retry-After": "1"}},
    "nonjson": {"kind": "nonjson"},
    "drop": {"kind": "drop"},
}
MODEL_GET = r"/api/models/[^/]+"


def kept_model_failing(login_as: Any, sandbox: SandboxServer, fault: str) -> tuple[Any, str]:
    """An operator, and a model the console has seen whose reads now fail with ``fault``."""
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    model_id = sandbox.state.add_model("ws_main", name="Kept Model")["id"]
    sweep()  # the console has seen the model's name
    sandbox.arm(MODEL_GET, method="GET", **TRANSIENT_FAULTS[fault])
    return operator, model_id


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS, ids=list(TRANSIENT_FAULTS))
def test_the_edit_form_keeps_what_was_typed_when_dr_gero_fails(
    login_as: Any, sandbox: SandboxServer, fault: str
) -> None:
    operator, model_id = kept_model_failing(login_as, sandbox, fault)
    typed = {"name": "Kept Model v2", "description": "Typed with care", "creation_mode": "auto"}
    response = operator.post(f"/models/{model_id}/edit/", typed)
    body = response.content.decode()
    assert response.status_code == 503
    assert "Edit Kept Model" in body and "New model" not in body
    assert 'value="Kept Model v2"' in body and "Typed with care" in body
    assert "Dr.Gero" in body and "banner" in body
    assert sandbox.state.count("PATCH", MODEL_GET) == 0


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS, ids=list(TRANSIENT_FAULTS))
def test_the_run_preview_goes_on_from_what_was_typed_when_dr_gero_fails(
    login_as: Any, sandbox: SandboxServer, fault: str
) -> None:
    operator, model_id = kept_model_failing(login_as, sandbox, fault)
    typed = {"size": "rows", "rows": "4321", "algorithm": "RANDOM_SHUFFLE"}
    response = operator.post(f"/models/{model_id}/runs/preview/", typed)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Start a fine-tune run of Kept Model" in body
    assert "a random sample of 4,321 rows" in body  # the confirmation, from what was typed
    assert sandbox.state.count("POST", r"/api/models/[^/]+/fine-tune/run") == 0


@pytest.mark.parametrize("fault", TRANSIENT_FAULTS, ids=list(TRANSIENT_FAULTS))
def test_the_schedule_form_keeps_what_was_typed_when_dr_gero_fails(
    login_as: Any, sandbox: SandboxServer, fault: str
) -> None:
    operator, model_id = kept_model_failing(login_as, sandbox, fault)
    typed = {
        "enabled": "on",
        "cadence": "DAILY",
        "size": "rows",
        "rows": "2345",
        "algorithm": "LAST_N",
    }
    response = operator.post(f"/models/{model_id}/schedule/confirm/", typed)
    body = response.content.decode()
    assert response.status_code == 503
    assert "Fine-tune schedule of Kept Model" in body
    assert 'value="2345"' in body and "could not be reached" in body
    assert sandbox.state.count("PATCH", MODEL_GET) == 0


def _create_form(**extra: str) -> dict[str, str]:
    return {"name": "Once Only", "description": "", "creation_mode": "auto", **extra}


def test_a_create_sent_again_after_an_unknown_outcome_makes_no_second_model(
    login_as: Any, sandbox: SandboxServer
) -> None:
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    page = operator.get("/models/new/").content.decode()
    intent = page.split('name="intent" value="')[1].split('"')[0]
    # Dr.Gero makes the model, then the answer is lost: the outcome is unknown.
    sandbox.arm(r"/api/models", method="POST", kind="drop", apply=True, times=1)
    first = operator.post("/models/new/", _create_form(intent=intent))
    assert first.status_code == 422 and "may or may not" in first.content.decode()
    again = operator.post("/models/new/", _create_form(intent=intent))
    assert again.status_code == 302
    made = [m for m in sandbox.state.models.values() if m["name"] == "Once Only"]
    assert len(made) == 1 and again["Location"] == f"/models/{made[0]['id']}/"
    assert sandbox.state.count("POST", r"/api/models") == 1
    resolved = AuditEvent.objects.get(action="model.create.resolved")
    assert resolved.target_id == made[0]["id"]
    # And a third submission of the same intent sends nothing either.
    operator.post("/models/new/", _create_form(intent=intent))
    assert sandbox.state.count("POST", r"/api/models") == 1


def test_a_create_that_surely_failed_may_be_sent_again(
    login_as: Any, sandbox: SandboxServer
) -> None:
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    intent = "5f0c4a52-1111-4c1e-9a51-0c4b5b9d2f10"
    sandbox.arm(r"/api/models", method="POST", status=409, times=1)
    assert operator.post("/models/new/", _create_form(intent=intent)).status_code == 422
    assert operator.post("/models/new/", _create_form(intent=intent)).status_code == 302
    assert len([m for m in sandbox.state.models.values() if m["name"] == "Once Only"]) == 1


def test_a_double_submitted_create_makes_one_model(login_as: Any, sandbox: SandboxServer) -> None:
    operator = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    intent = "5f0c4a52-2222-4c1e-9a51-0c4b5b9d2f10"
    for _ in range(3):
        operator.post("/models/new/", _create_form(intent=intent))
    assert len([m for m in sandbox.state.models.values() if m["name"] == "Once Only"]) == 1
    assert sandbox.state.count("POST", r"/api/models") == 1


def test_the_development_servers_access_log_is_redacted() -> None:
    import logging

    canary = "drgero_devservercanary0123456789"
    logger = logging.getLogger("django.server")
    from console.logs import RedactTokensFilter

    (handler,) = [  # the console's own handler, with its redacting filter
        h for h in logger.handlers if any(isinstance(f, RedactTokensFilter) for f in h.filters)
    ]
    record = logger.makeRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"GET /models/?q=%s HTTP/1.1" 200',
        (canary,),
        None,
    )
    assert handler.filter(record)
    text = handler.format(record)
    assert "GET /models/?q=drgero_[redacted]" in text and canary not in text


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("demo\u200b", "invisible"),
        ("de\u00admo", "invisible"),
        ("two words", "no spaces"),
        ("line\nbreak", "line breaks"),
        ("<b>bold</b>", "Enter a valid username"),
        ("DEMO", "already exists"),
        ("ｄｅｍｏ", "already exists"),  # fullwidth letters: NFKC makes them "demo"
        ("Demo", "already exists"),
    ],
)
def test_usernames_that_would_impersonate_are_refused(
    login_as: Any, make_member: Any, typed: str, words: str
) -> None:
    from django.contrib.auth import get_user_model

    make_member("demo", Role.VIEWER)
    admin = login_as(Role.ADMIN)
    before = get_user_model().objects.count()
    response = admin.post("/team/add/", {"username": typed, "role": "viewer"})
    assert response.status_code == 422
    assert words in response.content.decode()
    assert get_user_model().objects.count() == before


def test_a_username_is_stored_normalised(login_as: Any) -> None:
    from django.contrib.auth import get_user_model

    admin = login_as(Role.ADMIN)
    response = admin.post("/team/add/", {"username": "ｏｌｇａ", "role": "viewer"})
    assert response.status_code in (200, 302)
    assert get_user_model().objects.filter(username="olga").exists()


def test_the_sqlite_files_are_private(tmp_path: Any) -> None:
    import os
    import stat

    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps no files of ours")
    AuditEvent.objects.exists()  # the connection is open, and WAL mode made its files
    name = connection.settings_dict["NAME"]
    modes = {
        suffix: stat.S_IMODE(os.stat(name + suffix).st_mode)
        for suffix in ("", "-wal", "-shm")
        if os.path.exists(name + suffix)
    }
    assert modes and all(mode == 0o600 for mode in modes.values()), modes

    from console.settings.base import private_file

    fresh = tmp_path / "new.sqlite3"
    private_file(fresh)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600


def test_a_csrf_failure_is_a_console_page(login_as: Any) -> None:
    from django.test import Client

    member = login_as(Role.VIEWER)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = member.cookies
    response = strict.post("/account/notifications/", {"email": ""})
    body = response.content.decode()
    assert response.status_code == 403
    assert "This page had expired" in body and 'class="site-header"' in body
    assert "<style" not in body  # Django's own page has an inline style the CSP blocks


def test_an_htmx_csrf_failure_reloads_the_page_with_a_message(login_as: Any) -> None:
    from django.test import Client

    member = login_as(Role.VIEWER)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = member.cookies
    response = strict.post("/account/notifications/", {"email": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403 and response["HX-Refresh"] == "true"
    page = strict.get("/runs/").content.decode()
    assert "That page had expired, so nothing was changed" in page


def test_pages_from_the_consoles_own_data_never_wait_on_dr_gero(
    viewer: Any, sandbox: SandboxServer
) -> None:
    sandbox.arm(r"/api/.*", method="GET", kind="delay", delay_s=5)
    sandbox.state.seen.clear()
    for path in (
        f"/models/{viewer.model}/runs/",
        "/runs/",
        "/runs/?poll=1",
        "/audit/",
        "/runs/export.csv",
        "/notices/",
    ):
        assert viewer.get(path).status_code in (200, 204, 286)
    assert sandbox.state.seen == []
