"""The sandbox behaves like Dr.Gero as documented: auth, scopes, workspaces, errors, runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from drgero_client.sandbox import SandboxServer

FULL = {"Authorization": "Bearer drgero_sandbox_full"}


def api(sandbox: SandboxServer, method: str, path: str, *, headers=None, body=None, raw=None):  # type: ignore[no-untyped-def]
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return requests.request(
        method, sandbox.url + path, headers=headers or FULL, data=data, timeout=5
    )


def a_model(sandbox: SandboxServer) -> str:
    return sandbox.state.add_model("ws_main", name="M")["id"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer drgero_sandbox_full"},
        {"X-API-Key": "drgero_sandbox_full"},
        {"X-Dr.Gero-API-Key": "drgero_sandbox_full"},
    ],
    ids=["bearer", "x-api-key", "x-drgero-api-key"],
)
def test_every_documented_auth_header_works(sandbox: SandboxServer, headers: dict) -> None:
    assert api(sandbox, "GET", "/api/models", headers=headers).status_code == 200


def test_no_token_is_401_with_a_json_error_body(sandbox: SandboxServer) -> None:
    response = api(sandbox, "GET", "/api/models", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert set(response.json()) >= {"error", "code", "details"}


@pytest.mark.parametrize(
    ("token", "method", "path", "status"),
    [
        ("drgero_sandbox_readonly", "GET", "/api/models", 200),
        ("drgero_sandbox_readonly", "POST", "/api/models", 403),
        ("drgero_sandbox_nofinetune", "POST", "/api/models", 201),
        ("drgero_sandbox_nofinetune", "POST", "/api/models/{id}/fine-tune/run", 403),
        ("drgero_sandbox_full", "GET", "/api/leaderboards", 200),
    ],
)
def test_scopes(sandbox: SandboxServer, token: str, method: str, path: str, status: int) -> None:
    body = {"name": "x"} if path == "/api/models" else {}
    response = api(
        sandbox,
        method,
        path.replace("{id}", a_model(sandbox)),
        headers={"Authorization": f"Bearer {token}"},
        body=body,
    )
    assert response.status_code == status


def test_wildcard_scopes(sandbox: SandboxServer) -> None:
    from drgero_client.sandbox.state import TokenGrant

    sandbox.state.tokens["drgero_models_star"] = TokenGrant("ws_main", ("models:*",))
    headers = {"Authorization": "Bearer drgero_models_star"}
    assert (
        api(sandbox, "POST", "/api/models", headers=headers, body={"name": "x"}).status_code == 201
    )
    refused = api(sandbox, "GET", "/api/leaderboards", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["details"]["required_scope"] == "leaderboards:read"


def test_a_token_sees_only_its_workspace(sandbox: SandboxServer) -> None:
    free = {"Authorization": "Bearer drgero_sandbox_freeplan"}
    free_models = api(sandbox, "GET", "/api/models", headers=free).json()["models"]
    assert [m["name"] for m in free_models] == ["Weekend Experiment"]
    assert api(sandbox, "GET", f"/api/models/{free_models[0]['id']}").status_code == 404


def test_camel_case_aliases_on_create_and_update(sandbox: SandboxServer) -> None:
    created = api(
        sandbox,
        "POST",
        "/api/models",
        body={
            "modelName": "Camel",
            "creationMode": "auto",
            "autoUpdateModel": True,
            "continuousSelfLearning": True,
            "leaderboardIds": ["b60fe691-06a3-4261-bec3-6080380dc72d"],
        },
    ).json()["model"]
    assert created["name"] == "Camel" and created["auto_update_model"] is True
    updated = api(
        sandbox, "PATCH", f"/api/models/{created['id']}", body={"continuousSelfLearning": False}
    ).json()["model"]
    assert updated["continuous_self_learning"] is False


def test_limit_and_offset_with_a_total(sandbox: SandboxServer) -> None:
    body = api(sandbox, "GET", "/api/models?limit=4&offset=4").json()
    assert (len(body["models"]), body["total"]) == (2, 6)
    assert api(sandbox, "GET", "/api/models?limit=0").status_code == 400


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/models", {"description": "no name"}, "name"),
        ("/api/models", {"name": "x", "leaderboard_ids": ["nope"]}, "leaderboard_ids"),
        (
            "/api/models/{id}",
            {"fine_tune_schedule": {"run": {"type": "HOURLY"}}},
            "fine_tune_schedule",
        ),
        (
            "/api/models/{id}/fine-tune/run",
            {
                "dataset_size": {
                    "mode": "LIMIT",
                    "limit": {"auto": False, "rows": 0, "algorithm": "LAST_N"},
                }
            },
            "dataset_size",
        ),
        (
            "/api/models/{id}/fine-tune/run",
            {
                "dataset_size": {
                    "mode": "LIMIT",
                    "limit": {"auto": False, "rows": 10, "algorithm": "NEWEST"},
                }
            },
            "dataset_size",
        ),
    ],
    ids=["missing-name", "bad-leaderboard", "unknown-cadence", "rows-zero", "unknown-algorithm"],
)
def test_400_with_field_details(sandbox: SandboxServer, path: str, body: dict, field: str) -> None:
    method = "PATCH" if path == "/api/models/{id}" else "POST"
    response = api(sandbox, method, path.replace("{id}", a_model(sandbox)), body=body)
    assert response.status_code == 400
    assert field in response.json()["details"]


def test_malformed_json_is_400(sandbox: SandboxServer) -> None:
    response = api(sandbox, "POST", "/api/models", raw=b"{not json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_oversized_body_is_413(sandbox: SandboxServer) -> None:
    assert api(sandbox, "POST", "/api/models", raw=b"x" * 300_000).status_code == 413


def test_free_plan_schedule_is_402_and_clearing_is_null(sandbox: SandboxServer) -> None:
    free = {"Authorization": "Bearer drgero_sandbox_freeplan"}
    model_id = api(sandbox, "GET", "/api/models", headers=free).json()["models"][0]["id"]
    schedule = {"run": {"type": "DAILY"}}
    response = api(
        sandbox,
        "PATCH",
        f"/api/models/{model_id}",
        headers=free,
        body={"fine_tune_schedule": schedule},
    )
    assert response.status_code == 402
    paid = a_model(sandbox)
    assert api(
        sandbox, "PATCH", f"/api/models/{paid}", body={"fine_tune_schedule": schedule}
    ).json()["model"]["fine_tune_schedule"]
    cleared = api(sandbox, "PATCH", f"/api/models/{paid}", body={"fine_tune_schedule": None})
    assert cleared.json()["model"]["fine_tune_schedule"] is None


def test_runs_move_through_their_states_on_the_sandbox_clock(sandbox: SandboxServer) -> None:
    model_id = a_model(sandbox)
    sandbox.state.set_next_outcome("FAILED", "Dataset too small")
    run = api(sandbox, "POST", f"/api/models/{model_id}/fine-tune/run", body={}).json()["run"]
    assert run["status"] == "QUEUED" and run["started_at"] is None
    conflict = api(sandbox, "POST", f"/api/models/{model_id}/fine-tune/run", body={})
    assert conflict.status_code == 409
    sandbox.state.clock.advance(25)
    synced = api(sandbox, "POST", f"/api/models/{model_id}/fine-tune/sync", body={}).json()
    assert synced["runs"][0]["status"] == "RUNNING"
    sandbox.state.clock.advance(200)
    one = api(
        sandbox, "POST", f"/api/models/{model_id}/fine-tune/sync", body={"run_id": run["id"]}
    ).json()["run"]
    assert one["status"] == "FAILED" and one["error"] == "Dataset too small"
    assert one["finished_at"] is not None


def test_demo_seed_has_runs_in_every_status(sandbox: SandboxServer) -> None:
    now = sandbox.state.clock.now()
    statuses = {r.status_at(now) for r in sandbox.state.runs.values()}
    assert statuses >= {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"}
    assert 35 <= len(sandbox.state.runs) <= 45
    weekly = [m for m in sandbox.state.models.values() if m["fine_tune_schedule"]]
    assert [m["fine_tune_schedule"]["run"]["type"] for m in weekly] == ["WEEKLY"]


def test_the_control_api_arms_faults_and_counts_requests(sandbox: SandboxServer) -> None:
    url = sandbox.url + "/__sandbox__/"
    requests.post(
        url + "faults", json={"path": "/api/base-models", "status": 503, "times": 1}, timeout=5
    )
    assert api(sandbox, "GET", "/api/base-models").status_code == 503
    assert api(sandbox, "GET", "/api/base-models").status_code == 200
    seen = requests.get(url + "requests", timeout=5).json()["requests"]
    assert [r["path"] for r in seen] == ["/api/base-models", "/api/base-models"]
    clock = requests.post(url + "clock", json={"advance": 60}, timeout=5).json()
    assert clock["now"]


def test_latency_is_injected(sandbox: SandboxServer) -> None:
    sandbox.state.latency_ms = 120
    started = time.monotonic()
    api(sandbox, "GET", "/api/base-models")
    assert time.monotonic() - started >= 0.12


def test_concurrent_requests_are_served_in_parallel(sandbox: SandboxServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sandbox.state.latency_ms = 300
    sandbox.state.most_waiting = 0
    with ThreadPoolExecutor(4) as pool:
        codes = list(
            pool.map(lambda _: api(sandbox, "GET", "/api/base-models").status_code, range(4))
        )
    assert codes == [200] * 4
    assert sandbox.state.most_waiting >= 2  # one at a time would never overlap


def test_a_non_loopback_host_is_refused_unless_forced() -> None:
    with pytest.raises(ValueError):
        SandboxServer("0.0.0.0", 0)  # noqa: S104


def test_the_command_line_serves_the_demo_data() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "drgero_client.sandbox", "--port", "0", "--seed", "demo"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        url = line.split(" on ")[1].split()[0]
        models = requests.get(url + "/api/models", headers=FULL, timeout=5).json()["models"]
        assert len(models) == 6
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_the_sandbox_keeps_its_world_across_restarts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`make run` → Ctrl-C → `make run` shows what was made: models, runs, schedules, the
    clock; a reset starts over; an unreadable file starts from the seed."""
    kept = tmp_path / "sandbox-world.json"
    schedule = {
        "run": {"type": "WEEKLY"},
        "dataset": {"mode": "LIMIT", "limit": {"auto": False, "rows": 500, "algorithm": "LAST_N"}},
    }
    with SandboxServer(keep_in=kept) as first:
        assert not first.resumed
        made = api(first, "POST", "/api/models", body={"name": "Kept model"}).json()
        model_id = (made.get("model") or made)["id"]
        api(first, "PATCH", f"/api/models/{model_id}", body={"fine_tune_schedule": schedule})
        run = api(
            first,
            "POST",
            f"/api/models/{model_id}/fine-tune/run",
            body={
                "dataset_size": {
                    "mode": "LIMIT",
                    "limit": {"auto": False, "rows": 100, "algorithm": "LAST_N"},
                },
                "create_synthetic_data": False,
                "hypertuning_enabled": False,
            },
        ).json()
        run_id = (run.get("run") or run)["id"]
        requests.post(first.url + "/__sandbox__/clock", json={"advance": 3600}, timeout=5)
        ahead = first.state.clock.now()
    with SandboxServer(keep_in=kept) as second:  # a new process's sandbox, the same file
        assert second.resumed
        model = api(second, "GET", f"/api/models/{model_id}").json()
        assert (model.get("model") or model)["name"] == "Kept model"
        assert (model.get("model") or model)["fine_tune_schedule"] == schedule
        runs = api(second, "GET", f"/api/models/{model_id}/fine-tune/runs").json()["runs"]
        assert [r["id"] for r in runs] == [run_id]
        assert runs[0]["status"] == "SUCCEEDED"  # the hour it was moved on stays moved on
        assert second.state.clock.now() >= ahead
        requests.post(second.url + "/__sandbox__/reset", json={}, timeout=5)
        assert api(second, "GET", f"/api/models/{model_id}").status_code == 404
    with SandboxServer(keep_in=kept) as third:
        assert third.resumed and model_id not in third.state.models  # the reset was kept
    kept.write_text("{not json")
    with SandboxServer(keep_in=kept) as fourth:
        assert not fourth.resumed and fourth.state.models  # the demo seed
