"""The client against the sandbox over real loopback HTTP."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from drgero_client import (
    APIError,
    AuthenticationError,
    ConflictError,
    DatasetSize,
    DrGeroClient,
    DrGeroConnectionError,
    DrGeroTimeoutError,
    InvalidResponseError,
    NotFoundError,
    PayloadTooLargeError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    Schedule,
    ServerError,
    ValidationError,
)
from drgero_client.sandbox import DOCUMENTED_LEADERBOARD_ID, SandboxServer

FULL = "drgero_sandbox_full"
CANARY = "drgero_canaryTOKEN0123456789abcdef"


def make(sandbox: SandboxServer, token: str = FULL, **kwargs: object) -> DrGeroClient:
    options: dict = {"timeout": (1.0, 1.0), "backoff_base": 0.01, "retry_after_cap": 0.5}
    options.update(kwargs)
    return DrGeroClient(sandbox.url, token, **options)


def idle_model(sandbox: SandboxServer, **fields: object) -> str:
    return sandbox.state.add_model("ws_main", name="Idle Model", **fields)["id"]


ROWS_1000 = DatasetSize(auto=False, rows=1000, algorithm="LAST_N")


# Every method.


def test_list_models_returns_a_page_with_total(sandbox: SandboxServer) -> None:
    page = make(sandbox).list_models(limit=2, offset=0)
    assert len(page.items) == 2
    assert page.total == 6
    assert page.has_more


def test_iter_models_walks_every_page(sandbox: SandboxServer) -> None:
    for n in range(60):
        idle_model(sandbox, created_at=f"2020-01-01T00:00:{n % 60:02d}Z")
    models = list(make(sandbox).iter_models(page_size=25))
    assert len(models) == 66
    assert len({m.id for m in models}) == 66


def test_iter_models_stops_at_max_items(sandbox: SandboxServer) -> None:
    assert len(list(make(sandbox).iter_models(page_size=2, max_items=3))) == 3


def test_create_get_update_delete_a_model(sandbox: SandboxServer) -> None:
    client = make(sandbox)
    created = client.create_model(
        name="Created",
        description="d",
        leaderboard_ids=[DOCUMENTED_LEADERBOARD_ID],
        auto_update_model=True,
        continuous_self_learning=False,
        hypertuning_parameters=True,
    )
    assert created.leaderboard_ids == (DOCUMENTED_LEADERBOARD_ID,)
    assert client.get_model(created.id).name == "Created"
    updated = client.update_model(created.id, description="new")
    assert updated is not None and updated.description == "new"
    assert updated.name == "Created"
    client.delete_model(created.id)
    with pytest.raises(NotFoundError):
        client.get_model(created.id)


def test_update_sends_only_the_fields_given(sandbox: SandboxServer) -> None:
    model_id = idle_model(sandbox, description="keep")
    make(sandbox).update_model(model_id, name="Renamed")
    sent = [r for r in sandbox.state.seen if r.method == "PATCH"][-1]
    assert sent.body == b'{"name":"Renamed"}'


def test_update_refuses_an_unknown_field_without_sending(sandbox: SandboxServer) -> None:
    with pytest.raises(ValueError):
        make(sandbox).update_model(idle_model(sandbox), colour="red")
    assert sandbox.state.count("PATCH", r".*") == 0


def test_base_models_and_leaderboards(sandbox: SandboxServer) -> None:
    client = make(sandbox)
    assert len(client.list_base_models()) == 5
    assert client.list_leaderboards(limit=50).total == 3
    assert len(list(client.iter_leaderboards(page_size=1))) == 3
    model = client.list_models(limit=50).items[0]
    boards = client.list_model_leaderboards(model.id)
    assert {b.id for b in boards} == set(model.leaderboard_ids)


def test_start_list_and_sync_runs(sandbox: SandboxServer) -> None:
    client = make(sandbox)
    model_id = idle_model(sandbox)
    run = client.start_run(
        model_id, dataset_size=ROWS_1000, create_synthetic_data=False, hypertuning_enabled=True
    )
    assert run is not None and run.status == "QUEUED"
    assert run.dataset_size == ROWS_1000
    assert [r.id for r in client.list_runs(model_id)] == [run.id]
    sandbox.state.clock.advance(30)
    assert client.sync_runs(model_id)[0].status == "RUNNING"
    sandbox.state.clock.advance(600)
    (one,) = client.sync_runs(model_id, run_id=run.id)
    assert one.status == "SUCCEEDED"
    assert one.finished_at is not None


def test_start_run_sends_the_documented_body(sandbox: SandboxServer) -> None:
    model_id = idle_model(sandbox)
    make(sandbox).start_run(
        model_id,
        dataset_size=DatasetSize(auto=True, rows=None, algorithm="WEIGHTED_SHUFFLE"),
        create_synthetic_data=True,
        hypertuning_enabled=False,
    )
    sent = [r for r in sandbox.state.seen if r.method == "POST"][-1]
    assert sent.body == (
        b'{"dataset_size":{"mode":"LIMIT","limit":{"auto":true,"algorithm":"WEIGHTED_SHUFFLE"}},'
        b'"create_synthetic_data":true,"hypertuning_enabled":false}'
    )


def test_set_and_clear_a_schedule(sandbox: SandboxServer) -> None:
    client = make(sandbox)
    model_id = idle_model(sandbox)
    schedule = Schedule(cadence="DAILY", dataset=DatasetSize(False, 2000, "RANDOM_SHUFFLE"))
    model = client.set_schedule(model_id, schedule)
    assert model is not None and model.schedule == schedule
    cleared = client.set_schedule(model_id, None)
    assert cleared is not None and cleared.schedule is None
    assert [r for r in sandbox.state.seen if r.method == "PATCH"][-1].body == (
        b'{"fine_tune_schedule":null}'
    )


def test_health(sandbox: SandboxServer) -> None:
    assert make(sandbox).health() is True


def test_path_ids_are_quoted(sandbox: SandboxServer) -> None:
    with pytest.raises(NotFoundError):
        make(sandbox).get_model("../models?x=1")
    seen = sandbox.state.seen[-1]
    # Quoted, the id travels as one segment: no traversal, no query string smuggled in.
    assert (seen.path, seen.query) == ("/api/models/../models?x=1", "")


# Every error class.


def test_401_for_an_unknown_token(sandbox: SandboxServer) -> None:
    with pytest.raises(AuthenticationError) as info:
        make(sandbox, token="drgero_unknown_token").list_models()
    assert info.value.status == 401
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_403_names_the_missing_scope(sandbox: SandboxServer) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        make(sandbox, token="drgero_sandbox_readonly").create_model(name="x")
    assert info.value.missing_scope == "models:write"
    assert not info.value.mentions_plan


def test_400_carries_field_details(sandbox: SandboxServer) -> None:
    with pytest.raises(ValidationError) as info:
        make(sandbox).create_model(name="", leaderboard_ids=["not-a-uuid"])
    assert set(info.value.field_errors) == {"name", "leaderboard_ids"}


def test_402_when_a_free_plan_sets_a_schedule(sandbox: SandboxServer) -> None:
    client = make(sandbox, token="drgero_sandbox_freeplan")
    model = client.list_models().items[0]
    with pytest.raises(PaymentRequiredError):
        client.set_schedule(model.id, Schedule("WEEKLY", DatasetSize(True, None, "LAST_N")))


def test_404_for_another_workspaces_model(sandbox: SandboxServer) -> None:
    other = make(sandbox, token="drgero_sandbox_freeplan").list_models().items[0]
    with pytest.raises(NotFoundError):
        make(sandbox).get_model(other.id)


def test_409_when_a_run_is_already_active(sandbox: SandboxServer) -> None:
    client = make(sandbox)
    model_id = idle_model(sandbox)
    client.start_run(
        model_id, dataset_size=ROWS_1000, create_synthetic_data=False, hypertuning_enabled=False
    )
    with pytest.raises(ConflictError):
        client.start_run(
            model_id, dataset_size=ROWS_1000, create_synthetic_data=False, hypertuning_enabled=False
        )


def test_413_for_an_oversized_body(sandbox: SandboxServer) -> None:
    with pytest.raises(PayloadTooLargeError):
        make(sandbox).create_model(name="x", description="y" * 300_000)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_a_server_error(sandbox: SandboxServer, status: int) -> None:
    sandbox.arm(r"/api/models", method="POST", status=status)
    with pytest.raises(ServerError) as info:
        make(sandbox).create_model(name="x")
    assert info.value.status == status


def test_an_unlisted_4xx_is_a_plain_api_error(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/models", method="GET", status=418, times=1)
    with pytest.raises(APIError) as info:
        make(sandbox).list_models()
    assert type(info.value) is APIError and info.value.status == 418


def test_a_non_json_2xx_body_is_an_invalid_response(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/models", method="GET", kind="nonjson")
    with pytest.raises(InvalidResponseError):
        make(sandbox).list_models()


def test_a_non_json_error_body_still_maps_to_its_status(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/models", method="GET", status=502, body="<html>bad gateway</html>")
    with pytest.raises(ServerError) as info:
        make(sandbox, max_retries=0).list_models()
    assert info.value.status == 502


def test_a_nonsense_json_body_is_an_invalid_response(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/models", method="GET", status=200, body={"weird": 1})
    with pytest.raises(InvalidResponseError):
        make(sandbox).list_models()
    sandbox.arm(r"/api/models/.*", method="GET", status=200, body=[1, 2])
    with pytest.raises(InvalidResponseError):
        make(sandbox).get_model("x")


def test_a_dropped_connection_is_a_connection_error(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/models", method="POST", kind="drop")
    with pytest.raises(DrGeroConnectionError) as info:
        make(sandbox).create_model(name="x")
    assert info.value.request_sent is True


def test_nothing_listening_is_a_connection_error_that_sent_nothing() -> None:
    client = DrGeroClient("http://127.0.0.1:9", FULL, timeout=(0.5, 0.5), max_retries=0)
    with pytest.raises(DrGeroConnectionError) as info:
        client.list_models()
    assert info.value.request_sent is False


# Retries.


def test_a_get_is_retried_on_503_then_succeeds(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/models", method="GET", status=503, times=2)
    page = make(sandbox, max_retries=2).list_models()
    assert page.total == 6
    assert sandbox.state.count("GET", r"/api/models") == 3


@pytest.mark.parametrize("status", [429, 502, 504])
def test_a_get_is_retried_on_transient_statuses(sandbox: SandboxServer, status: int) -> None:
    sandbox.arm(r"/api/base-models", method="GET", status=status, times=1)
    assert make(sandbox).list_base_models()
    assert sandbox.state.count("GET", r"/api/base-models") == 2


def test_a_get_is_not_retried_on_500(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/base-models", method="GET", status=500)
    with pytest.raises(ServerError):
        make(sandbox).list_base_models()
    assert sandbox.state.count("GET", r"/api/base-models") == 1


def test_retries_give_up_after_max_retries(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/base-models", method="GET", status=503)
    with pytest.raises(ServerError):
        make(sandbox, max_retries=2).list_base_models()
    assert sandbox.state.count("GET", r"/api/base-models") == 3


def test_a_post_is_sent_once_under_502(sandbox: SandboxServer) -> None:
    model_id = idle_model(sandbox)
    sandbox.arm(r"/api/models/.*/fine-tune/run", method="POST", status=502)
    with pytest.raises(ServerError):
        make(sandbox).start_run(
            model_id, dataset_size=ROWS_1000, create_synthetic_data=False, hypertuning_enabled=False
        )
    assert sandbox.state.count("POST", r"/api/models/.*/fine-tune/run") == 1


def test_a_post_is_sent_once_under_a_read_timeout(sandbox: SandboxServer) -> None:
    model_id = idle_model(sandbox)
    sandbox.arm(
        r"/api/models/.*/fine-tune/run", method="POST", kind="delay", delay_s=1.5, apply=True
    )
    with pytest.raises(DrGeroTimeoutError) as info:
        make(sandbox, timeout=(1.0, 0.3)).start_run(
            model_id,
            dataset_size=ROWS_1000,
            create_synthetic_data=False,
            hypertuning_enabled=False,
        )
    assert info.value.request_sent is True
    assert sandbox.state.count("POST", r"/api/models/.*/fine-tune/run") == 1


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_patch_and_delete_are_never_retried(sandbox: SandboxServer, method: str) -> None:
    model_id = idle_model(sandbox)
    sandbox.arm(r"/api/models/.*", method=method, status=503)
    client = make(sandbox)
    with pytest.raises(ServerError):
        if method == "PATCH":
            client.update_model(model_id, name="x")
        else:
            client.delete_model(model_id)
    assert sandbox.state.count(method, r"/api/models/.*") == 1


def test_a_short_retry_after_is_honoured(sandbox: SandboxServer) -> None:
    sandbox.arm(
        r"/api/base-models", method="GET", status=429, headers={"Retry-After": "0.3"}, times=1
    )
    started = time.monotonic()
    make(sandbox).list_base_models()
    assert time.monotonic() - started >= 0.3
    assert sandbox.state.count("GET", r"/api/base-models") == 2


def test_a_retry_after_beyond_the_cap_raises_at_once(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import drgero_client.client as client_module

    sleeps: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", sleeps.append)
    sandbox.arm(r"/api/base-models", method="GET", status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitError) as info:
        make(sandbox, retry_after_cap=0.5).list_base_models()
    assert sleeps == []  # no wait at all, however short
    assert info.value.retry_after == 120
    assert sandbox.state.count("GET", r"/api/base-models") == 1


def test_a_timed_out_get_is_retried(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/base-models", method="GET", kind="delay", delay_s=0.8, times=1)
    assert make(sandbox, timeout=(1.0, 0.3)).list_base_models()
    assert sandbox.state.count("GET", r"/api/base-models") == 2


# Envelopes and key variants.

MODEL_SNAKE = {
    "id": "m1",
    "name": "Snake",
    "created_at": "2026-01-02T03:04:05Z",
    "leaderboard_ids": ["b1"],
    "auto_update_model": True,
    "colour": "blue",
}
MODEL_CAMEL = {
    "modelId": "m1",
    "modelName": "Camel",
    "createdAt": 1767323045,
    "leaderboardIds": ["b1"],
    "autoUpdateModel": True,
    "fineTuneSchedule": {"run": {"type": "FORTNIGHTLY"}},
}


@pytest.mark.parametrize(
    "body",
    [
        [MODEL_SNAKE],
        {"models": [MODEL_SNAKE], "total": 1},
        {"data": [MODEL_SNAKE], "count": 1},
        {"items": [MODEL_SNAKE]},
        {"results": [MODEL_SNAKE], "totalCount": 1},
        {"data": {"items": [MODEL_SNAKE], "total": 1}},
    ],
    ids=["bare", "models", "data", "items", "results", "nested"],
)
def test_list_envelopes(sandbox: SandboxServer, body: object) -> None:
    sandbox.arm(r"/api/models", method="GET", status=200, body=body)
    page = make(sandbox).list_models()
    assert [m.id for m in page.items] == ["m1"]
    if isinstance(body, dict) and any(k in str(body) for k in ("total", "count")):
        assert page.total == 1


@pytest.mark.parametrize("body", [MODEL_SNAKE, {"model": MODEL_SNAKE}, {"data": MODEL_SNAKE}])
def test_single_object_bare_or_wrapped(sandbox: SandboxServer, body: object) -> None:
    sandbox.arm(r"/api/models/m1", method="GET", status=200, body=body)
    model = make(sandbox).get_model("m1")
    assert model.name == "Snake"
    assert model.other_details() == {"colour": "blue"}


def test_camel_case_keys_and_unknown_values(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/models/m1", method="GET", status=200, body={"model": MODEL_CAMEL})
    model = make(sandbox).get_model("m1")
    assert (model.id, model.name, model.leaderboard_ids) == ("m1", "Camel", ("b1",))
    assert model.auto_update_model is True
    assert model.created_at is not None and model.created_at.year == 2026
    assert model.schedule is not None and model.schedule.cadence == "FORTNIGHTLY"


def test_runs_with_camel_case_and_an_unknown_status(sandbox: SandboxServer) -> None:
    body = {
        "runs": [
            {
                "runId": "r1",
                "status": "WARMING_UP",
                "createdAt": "2026-01-01T00:00:00",
                "finishedAt": None,
                "errorMessage": "boom",
            }
        ]
    }
    sandbox.arm(r"/api/models/m1/fine-tune/runs", method="GET", status=200, body=body)
    (run,) = make(sandbox).list_runs("m1")
    assert (run.id, run.status, run.error) == ("r1", "WARMING_UP", "boom")
    assert run.created_at is not None and run.created_at.tzinfo is not None


@pytest.mark.parametrize("status", [200, 204])
def test_an_empty_2xx_body_is_success(sandbox: SandboxServer, status: int) -> None:
    model_id = idle_model(sandbox)
    sandbox.arm(r"/api/models/.*", method="DELETE", status=status, body=b"")
    make(sandbox).delete_model(model_id)
    sandbox.arm(r"/api/models/.*/fine-tune/sync", method="POST", status=204, body=b"")
    assert make(sandbox).sync_runs(model_id) == []


def test_a_list_of_garbage_items_raises_the_clients_error(sandbox: SandboxServer) -> None:
    sandbox.arm(r"/api/models", method="GET", status=200, body={"models": [1, "x"]})
    with pytest.raises(InvalidResponseError):
        make(sandbox).list_models()


# The token stays secret.


def test_the_token_is_absent_from_repr_errors_and_logs(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make(sandbox, token=CANARY)
    assert CANARY not in repr(client) and CANARY not in str(client)
    with pytest.raises(AuthenticationError) as info:
        client.list_models()
    texts = [str(info.value), repr(info.value), str(info.value.__cause__)]
    sandbox.arm(r"/api/base-models", method="GET", kind="drop")
    with pytest.raises(DrGeroConnectionError) as dropped:
        make(sandbox, token=CANARY, max_retries=0).list_base_models()
    texts += [str(dropped.value), repr(dropped.value), repr(dropped.value.__cause__)]
    for text in texts + [caplog.text]:
        assert CANARY not in text
    assert "GET /api/models" in caplog.text


def test_plain_http_is_refused_for_a_remote_host() -> None:
    with pytest.raises(ValueError):
        DrGeroClient("http://api.example.com", FULL)
    DrGeroClient("https://api.example.com", FULL)
    DrGeroClient("http://localhost:8001", FULL)


def test_the_token_goes_on_each_request_not_on_a_shared_session(sandbox: SandboxServer) -> None:
    import requests

    session = requests.Session()
    make(sandbox, session=session).list_models()
    assert "Authorization" not in session.headers
    assert sandbox.state.seen[-1].auth_scheme == "Bearer"


def test_an_answer_is_parsed_once_and_a_new_one_anew() -> None:
    from drgero_client.transport import parsed_once

    calls: list[str] = []

    def parse(what: str) -> Any:
        calls.append(what)
        return (what,)

    first = parsed_once(("models", b"digest-one", 50, 0), lambda: parse("one"))
    again = parsed_once(("models", b"digest-one", 50, 0), lambda: parse("one again"))
    other = parsed_once(("models", b"digest-two", 50, 0), lambda: parse("two"))
    unknown = parsed_once(("models", b"", 50, 0), lambda: parse("no digest"))
    parsed_once(("models", b"", 50, 0), lambda: parse("no digest again"))
    assert first is again and other == ("two",) and unknown == ("no digest",)
    assert calls == ["one", "two", "no digest", "no digest again"]

    def broken() -> Any:
        calls.append("broken")
        raise ValueError("not a list")

    for _ in range(2):
        with pytest.raises(ValueError):
            parsed_once(("models", b"digest-bad", 50, 0), broken)
    assert calls.count("broken") == 2  # a failure is never kept


def test_the_same_page_of_models_is_the_same_value_until_dr_gero_changes(
    sandbox: SandboxServer,
) -> None:
    client = make(sandbox)
    first = client.list_models(limit=50)
    assert client.list_models(limit=50) is first and first.answer
    assert client.list_models(limit=2) is not first  # another question
    model = first.items[0]
    with sandbox.state.lock:
        sandbox.state.models[model.id]["name"] = "Changed in Dr.Gero"
    changed = client.list_models(limit=50)
    assert changed is not first and changed.answer != first.answer
    assert {m.id: m.name for m in changed.items}[model.id] == "Changed in Dr.Gero"
