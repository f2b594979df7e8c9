"""A run's own page in each state, run again, defaults that follow the model, the estimate."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from console.models import RunRecord
from console.roles import Role
from console.services.runs import RunSettings, run_prepare, run_start
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import HTMX
from tests.console.html import has_html
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db

SETTINGS = RunSettings(
    auto=False,
    rows=2500,
    algorithm="RANDOM_SHUFFLE",
    create_synthetic_data=True,
    hypertuning_enabled=False,
)


@pytest.fixture
def operator(login_as: Any) -> Client:
    return login_as(Role.OPERATOR, token="drgero_sandbox_full")


def started(
    sandbox: SandboxServer, operator: Client, name: str = "Paged", **model: Any
) -> RunRecord:
    model_id = sandbox.state.add_model("ws_main", name=name, **model)["id"]
    submission = run_prepare(
        user=operator.user,
        model_id=model_id,
        model_name=name,
        settings=SETTINGS,  # type: ignore[attr-defined]
    )
    assert run_start(user=operator.user, submission_id=submission.pk).started  # type: ignore[attr-defined]
    submission.refresh_from_db()
    return RunRecord.objects.get(run_id=submission.run_id)


def test_a_succeeded_run(sandbox: SandboxServer, operator: Client) -> None:
    record = started(sandbox, operator)
    sandbox.state.clock.advance(30)
    sweep("active")
    sandbox.state.clock.advance(7200)
    sweep("active")
    body = operator.get(f"/runs/{record.run_id}/").content.decode()
    assert "Fine-tune run of Paged" in body
    assert "Succeeded — finished; the model was updated" in body
    assert "operator-member, in the console" in body
    assert "a random sample of 2,500 rows" in body and "Dr.Gero added generated examples" in body
    timeline = re.findall(r'<span class="timeline__what">([^<]+)</span>', body)
    # Each event once, at Dr.Gero's time: the console's sightings of the same changes are
    # folded into them (their own time shows, quieter, only where it is a minute off).
    assert timeline == ["Created", "Started training", "Finished: Succeeded"]
    from console.selectors.run_page import run_view

    view = run_view(record.run_id)
    assert view is not None
    times = [step.at for step in view.timeline]
    assert times == sorted(times)
    assert re.search(r"\d\d \w{3} \d{4}, \d\d:\d\d UTC", body)  # absolute times, no hover
    assert "started a fine-tune run" in body  # the audit event that started it, in words
    assert "run.start" not in body
    assert "Run again with these settings" in body
    assert "hx-trigger" not in body.split("<main")[1].split("</main>")[0].replace(
        'hx-trigger="every 20s"', ""
    )


def test_a_failed_run_shows_the_reason(sandbox: SandboxServer, operator: Client) -> None:
    sandbox.state.set_next_outcome("FAILED", "Out of memory on the training node.")
    record = started(sandbox, operator)
    sandbox.state.clock.advance(7200)
    sweep("active")
    body = operator.get(f"/runs/{record.run_id}/").content.decode()
    assert "Failed — ended with an error" in body
    assert "Reason Dr.Gero gave:</strong> Out of memory on the training node." in body


def test_an_active_run_updates_itself_then_stops(sandbox: SandboxServer, operator: Client) -> None:
    record = started(sandbox, operator)
    page = operator.get(f"/runs/{record.run_id}/").content.decode()
    assert "updates itself every 5 seconds" in page and "Time so far" in page
    assert f'hx-get="/runs/{record.run_id}/?poll=1"' in page
    poll = operator.get(f"/runs/{record.run_id}/?poll=1", **HTMX)
    assert poll.status_code == 200
    sandbox.state.clock.advance(7200)
    sweep("active")
    stop = operator.get(f"/runs/{record.run_id}/?poll=1", **HTMX)
    assert stop.status_code == 286 and b"Succeeded" in stop.content


def test_a_run_started_outside_says_so(sandbox: SandboxServer, operator: Client) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Scheduled")["id"]
    run = sandbox.state.add_run(model_id, trigger="schedule")
    sweep()
    body = operator.get(f"/runs/{run.id}/").content.decode()
    assert "Started outside the console (Dr.Gero&#x27;s schedule or another tool)" in body
    assert "started by Dr.Gero&#x27;s schedule" in body
    assert "it was started outside the console" in body


def test_a_start_known_only_by_its_submission(sandbox: SandboxServer, operator: Client) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Unsure")["id"]
    sandbox.arm(r"/api/models/[^/]+/fine-tune/run", method="POST", kind="drop")
    sandbox.arm(r"/api/models/[^/]+/fine-tune/runs", method="GET", status=503, times=20)
    page = operator.get(f"/models/{model_id}/runs/new/").content.decode()
    preview = operator.post(
        f"/models/{model_id}/runs/preview/", {"size": "auto", "algorithm": "LAST_N"}
    )
    submission = re.search(r"/runs/confirm/([0-9a-f-]+)/", preview.content.decode())[1]  # type: ignore[index]
    assert page
    response = operator.post(f"/models/{model_id}/runs/confirm/{submission}/", {})
    assert response.status_code == 302 and response["Location"] == f"/runs/{submission}/"
    body = operator.get(response["Location"]).content.decode()
    assert "did not confirm" in body and "What to check" in body
    assert "this model&#x27;s run history" in body and "started a fine-tune run" in body


def test_an_unknown_id_is_a_404(operator: Client) -> None:
    assert operator.get("/runs/no-such-run/").status_code == 404


def test_run_again_prefills_and_goes_through_confirmation(
    sandbox: SandboxServer, operator: Client
) -> None:
    record = started(sandbox, operator)
    sandbox.state.clock.advance(7200)
    sweep("active")
    form = operator.get(f"/models/{record.model_id}/runs/new/?from={record.run_id}")
    body = form.content.decode()
    assert "settings of the run you chose to repeat" in body
    assert 'value="2500"' in body
    assert re.search(r'value="RANDOM_SHUFFLE"[^>]*checked', body)
    assert re.search(r'name="create_synthetic_data"[^>]*checked', body)
    preview = operator.post(
        f"/models/{record.model_id}/runs/preview/",
        {
            "size": "rows",
            "rows": "2500",
            "algorithm": "RANDOM_SHUFFLE",
            "create_synthetic_data": "on",
        },
    )
    assert "a random sample of 2,500 rows, with synthetic data" in preview.content.decode()
    assert sandbox.state.count("POST", r"/api/models/[^/]+/fine-tune/run") == 1  # not yet sent


@pytest.mark.parametrize("hyper", [True, False])
def test_hypertuning_starts_as_the_model_is_set(
    sandbox: SandboxServer, operator: Client, hyper: bool
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Tuned", hypertuning_parameters=hyper)["id"]
    body = operator.get(f"/models/{model_id}/runs/new/").content.decode()
    checked = re.search(r'name="hypertuning_enabled"[^>]*checked', body) is not None
    assert checked is hyper
    assert f"Hyperparameter tuning starts {'on' if hyper else 'off'}" in body


def test_an_active_run_blocks_a_second_start_on_the_form(
    sandbox: SandboxServer, operator: Client
) -> None:
    record = started(sandbox, operator)
    body = operator.get(f"/models/{record.model_id}/runs/new/").content.decode()
    assert "A run of this model is queued now" in body
    assert f'href="/runs/{record.run_id}/"' in body
    assert "Review" not in body and 'name="size"' not in body
    preview = operator.post(
        f"/models/{record.model_id}/runs/preview/", {"size": "auto", "algorithm": "LAST_N"}
    )
    assert "/runs/confirm/" not in preview.content.decode()


def test_the_confirmation_estimates_from_past_runs(
    sandbox: SandboxServer, operator: Client
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Timed")["id"]
    body = operator.post(
        f"/models/{model_id}/runs/preview/", {"size": "auto", "algorithm": "LAST_N"}
    ).content.decode()
    assert "no past runs of this model to estimate" in body
    for minutes in (10, 20, 40):
        sandbox.state.add_run(
            model_id,
            created_at=sandbox.state.clock.now(),
            queue_seconds=0,
            run_seconds=minutes * 60,
        )
        sandbox.state.clock.advance(3600)
    sweep()
    body = operator.post(
        f"/models/{model_id}/runs/preview/", {"size": "auto", "algorithm": "LAST_N"}
    ).content.decode()
    assert (
        "Past runs of this model took 20 min (the middle of the last 3 that finished; "
        "from 10 min to 40 min)" in body
    )


def test_history_rows_link_to_each_run(sandbox: SandboxServer, operator: Client) -> None:
    record = started(sandbox, operator)
    body = operator.get("/runs/").content.decode()
    assert f'href="/runs/{record.run_id}/"' in body


def test_an_old_run_seen_for_the_first_time_reads_as_it_happened(
    sandbox: SandboxServer, operator: Client
) -> None:
    model_id = sandbox.state.add_model("ws_main", name="Old")["id"]
    three_days_ago = sandbox.state.clock.now() - timedelta(days=3)
    run = sandbox.state.add_run(model_id, outcome="FAILED", created_at=three_days_ago)
    sweep()
    body = operator.get(f"/runs/{run.id}/").content.decode()
    timeline = re.findall(r'<span class="timeline__what">([^<]+)</span>', body)
    assert timeline[-1] == "Finished: Failed"
    assert not [t for t in timeline if t.startswith(("First seen", "Seen"))]
    assert "The console first saw this run" in body  # quieter, beside the finish


def test_a_runs_why_shows_on_its_page(sandbox: SandboxServer, operator: Client) -> None:
    record = started(sandbox, operator)
    RunRecord.objects.filter(pk=record.pk).update(note="Ahead of the <b>quarterly</b> review")
    body = operator.get(f"/runs/{record.run_id}/").content.decode()
    assert has_html(
        body, '<dd class="note-text">Ahead of the &lt;b&gt;quarterly&lt;/b&gt; review</dd>'
    )
    assert record.run_id not in body.split("<h1>")[1].split("</h1>")[0]
    assert 'data-copy="#run-id"' in body


@pytest.mark.parametrize(
    ("reason", "advice"),
    [
        ("CUDA out of memory on the training node.", "Try again with fewer rows"),
        ("Dataset too small: 12 rows, need 100.", "Try again with more rows, or with synthetic"),
        ("Your plan does not include fine-tuning.", "needs a paid Dr.Gero plan"),
        ("Loss became NaN at step 412.", "The console does not know this reason"),
        ("An explanation is missing.", "The console does not know this reason"),
    ],
)
def test_a_failed_run_says_what_to_try_next(
    sandbox: SandboxServer, operator: Client, reason: str, advice: str
) -> None:
    sandbox.state.set_next_outcome("FAILED", reason)
    record = started(sandbox, operator)
    sandbox.state.clock.advance(7200)
    sweep("active")
    body = operator.get(f"/runs/{record.run_id}/").content.decode()
    assert "What to try next:" in body and advice in body
    assert f"/runs/new/?from={record.run_id}" in body


def test_a_succeeded_run_gives_no_advice(sandbox: SandboxServer, operator: Client) -> None:
    record = started(sandbox, operator)
    sandbox.state.clock.advance(7200)
    sweep("active")
    assert "What to try next" not in operator.get(f"/runs/{record.run_id}/").content.decode()
