"""The record agrees with Dr.Gero: a run Dr.Gero forgot stops being "active"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from console.models import Notice, RunRecord, RunTransition
from console.roles import Role
from console.services.run_checks import run_sync
from console.services.runs import RunSettings, run_prepare, run_start
from drgero_client.sandbox import SandboxServer
from tests.console.worker import sweep

pytestmark = pytest.mark.django_db

SETTINGS = RunSettings(
    auto=False, rows=1000, algorithm="LAST_N", create_synthetic_data=False, hypertuning_enabled=True
)


def started(sandbox: SandboxServer, member: Any) -> tuple[str, str]:
    """A run started in the console and still queued; (model id, run id)."""
    model_id = sandbox.state.add_model("ws_main", name="Forgetful")["id"]
    submission = run_prepare(
        user=member, model_id=model_id, model_name="Forgetful", settings=SETTINGS
    )
    assert run_start(user=member, submission_id=submission.pk).started
    record = RunRecord.objects.get(model_id=model_id)
    assert record.category in ("queued", "running")
    return model_id, record.run_id


def forget(sandbox: SandboxServer, run_id: str) -> None:
    """The sandbox loses the run, as a restarted demo sandbox did."""
    with sandbox.state.lock:
        del sandbox.state.runs[run_id]


def interval_passes(run_id: str, settings: Any) -> None:
    """An active-sweep interval goes by (the clock, not a sleep)."""
    back = timedelta(seconds=settings.CONSOLE_SYNC_ACTIVE_SECONDS + 1)
    RunRecord.objects.filter(run_id=run_id).update(missing_since=timezone.now() - back)


def retire(sandbox: SandboxServer, run_id: str, settings: Any) -> None:
    """The sandbox forgets the run, and two active sweeps an interval apart notice."""
    forget(sandbox, run_id)
    sweep("active")
    interval_passes(run_id, settings)
    sweep("active")


@pytest.fixture
def operator(make_member: Any) -> Any:
    return make_member("op", Role.OPERATOR, token="drgero_sandbox_full")


def test_a_forgotten_run_is_retired_after_two_reads_an_interval_apart(
    sandbox: SandboxServer, operator: Any, settings: Any
) -> None:
    model_id, run_id = started(sandbox, operator)
    forget(sandbox, run_id)
    sweep("active")
    record = RunRecord.objects.get(run_id=run_id)
    assert record.category in ("queued", "running") and record.missing_since is not None
    sweep("active")  # a second read at once is not enough
    assert RunRecord.objects.get(run_id=run_id).category != "gone"
    interval_passes(run_id, settings)
    sweep("active")
    record = RunRecord.objects.get(run_id=run_id)
    assert record.category == "gone"
    last = RunTransition.objects.filter(run=record).order_by("-pk").first()
    assert last is not None and last.to_category == "gone"
    notices = Notice.objects.filter(user=operator, kind="run_gone")
    assert notices.count() == 1 and "no longer lists" in notices[0].text
    sweep("active")  # no longer watched: nothing more is asked or told
    assert Notice.objects.filter(user=operator, kind="run_gone").count() == 1
    from console.services.sweeps import watched_models

    assert model_id not in watched_models()


def test_a_run_that_comes_back_is_not_retired(
    sandbox: SandboxServer, operator: Any, settings: Any
) -> None:
    model_id, run_id = started(sandbox, operator)
    kept = sandbox.state.runs[run_id]
    forget(sandbox, run_id)
    sweep("active")
    with sandbox.state.lock:
        sandbox.state.runs[run_id] = kept
    sweep("active")
    assert RunRecord.objects.get(run_id=run_id).missing_since is None
    forget(sandbox, run_id)
    sweep("active")
    sweep("active")
    assert RunRecord.objects.get(run_id=run_id).category != "gone"  # absence counted anew


def test_an_incomplete_list_retires_nothing(
    sandbox: SandboxServer, operator: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drgero_client import DrGeroClient

    model_id, run_id = started(sandbox, operator)
    forget(sandbox, run_id)
    real = DrGeroClient.list_runs_complete

    def partial(self: Any, model: str) -> Any:
        runs, _ = real(self, model)
        return runs, False

    monkeypatch.setattr(DrGeroClient, "list_runs_complete", partial)
    sweep("active")
    interval_passes(run_id, settings)
    sweep("active")
    assert RunRecord.objects.get(run_id=run_id).category != "gone"


def test_with_the_defaults_a_forgotten_run_is_retired_within_a_minute(
    sandbox: SandboxServer, operator: Any, settings: Any
) -> None:
    """Two active sweeps 15 s apart retire it: 30 s at the most, well within 60 s."""
    assert settings.CONSOLE_SYNC_ACTIVE_SECONDS == 15
    model_id, run_id = started(sandbox, operator)
    forget(sandbox, run_id)
    sweep("active")
    seen_missing = RunRecord.objects.get(run_id=run_id).missing_since
    RunRecord.objects.filter(run_id=run_id).update(
        missing_since=seen_missing - timedelta(seconds=15)
    )
    sweep("active")
    assert RunRecord.objects.get(run_id=run_id).category == "gone"


def test_a_404_for_the_run_retires_it_and_says_the_run_not_the_model(
    sandbox: SandboxServer, operator: Any
) -> None:
    model_id, run_id = started(sandbox, operator)
    forget(sandbox, run_id)
    outcome = run_sync(user=operator, model_id=model_id, run_id=run_id)
    assert outcome.problem is not None
    assert "does not have this run any more" in outcome.problem.message
    assert "model" in outcome.problem.message and "deleted" not in outcome.problem.message
    assert RunRecord.objects.get(run_id=run_id).category == "gone"
    from console.models import AuditEvent

    event = AuditEvent.objects.get(action="run.sync")
    assert "does not have this run" in event.message and "no longer exists" not in event.message


def test_a_404_for_the_model_still_says_the_model_is_gone(
    sandbox: SandboxServer, operator: Any
) -> None:
    model_id, run_id = started(sandbox, operator)
    with sandbox.state.lock:
        del sandbox.state.models[model_id]
    outcome = run_sync(user=operator, model_id=model_id, run_id=run_id)
    assert outcome.problem is not None and "no longer exists" in outcome.problem.message
    assert RunRecord.objects.get(run_id=run_id).category != "gone"


def test_the_run_page_says_what_the_console_last_saw(
    sandbox: SandboxServer, operator: Any, settings: Any
) -> None:
    model_id, run_id = started(sandbox, operator)
    retire(sandbox, run_id, settings)
    client = Client()
    client.force_login(operator)
    page = client.get(f"/runs/{run_id}/").content.decode()
    assert "No longer in Dr.Gero" in page
    assert "The console last saw this run as" in page and "stopped listing it" in page
    history = client.get("/runs/?status=gone").content.decode()
    assert run_id in history


def test_the_start_form_checks_with_dr_gero_before_refusing(
    sandbox: SandboxServer, operator: Any
) -> None:
    model_id, run_id = started(sandbox, operator)
    client = Client()
    client.force_login(operator)
    refused = client.get(f"/models/{model_id}/runs/new/").content.decode()
    assert "A run of this model is" in refused and 'name="rows"' not in refused
    forget(sandbox, run_id)
    page = client.get(f"/models/{model_id}/runs/new/").content.decode()
    assert "A run of this model is" not in page
    assert f"/models/{model_id}/runs/preview/" in page  # the form is offered
    assert RunRecord.objects.get(run_id=run_id).missing_since is not None


def test_the_start_form_lets_people_choose_when_dr_gero_cannot_be_asked(
    sandbox: SandboxServer, operator: Any
) -> None:
    model_id, run_id = started(sandbox, operator)
    sandbox.arm(r"/api/models/[^/]+/fine-tune/runs", method="GET", status=503)
    client = Client()
    client.force_login(operator)
    page = client.get(f"/models/{model_id}/runs/new/").content.decode()
    assert "could not be asked just now" in page
    assert f"/models/{model_id}/runs/preview/" in page


def test_a_model_no_members_token_can_read_keeps_its_history_and_says_so(
    sandbox: SandboxServer, operator: Any, make_member: Any
) -> None:
    """The member who could read it took their token away; the only token left belongs to
    another workspace, whose 404 does not mean the model was deleted."""
    from console.models import DrGeroToken, ModelSyncState

    make_member("elsewhere", Role.VIEWER, token="drgero_sandbox_freeplan")
    sweep()  # the discovery sweep: the operator's token lists the model
    model_id, run_id = started(sandbox, operator)
    sweep()
    assert ModelSyncState.objects.get(pk=model_id).listed_by_id == operator.pk
    DrGeroToken.objects.filter(user=operator).delete()
    sweep("active")
    record = RunRecord.objects.get(run_id=run_id)
    assert record.category == "unreadable"
    assert ModelSyncState.objects.get(pk=model_id).deleted_at is None
    sweep()  # discovery: not listed by anyone now; still not called deleted
    assert ModelSyncState.objects.get(pk=model_id).deleted_at is None
    assert RunRecord.objects.get(run_id=run_id).category == "unreadable"
    viewer = Client()
    viewer.force_login(make_member("looker", Role.VIEWER))
    page = viewer.get(f"/runs/{run_id}/").content.decode()
    assert "no member&#x27;s token can read this model" in page or "no member's token" in page
    history = viewer.get(f"/models/{model_id}/runs/").content.decode()
    assert "Unknown — no token can read it" in history
    # A token that can read it again brings the run up to date.
    from tests.console.conftest import store_token

    store_token(operator, "drgero_sandbox_full")
    sweep("active")
    assert RunRecord.objects.get(run_id=run_id).category in ("queued", "running")


def test_with_no_token_at_all_active_runs_stop_showing_as_running(
    sandbox: SandboxServer, operator: Any
) -> None:
    from console.models import DrGeroToken

    model_id, run_id = started(sandbox, operator)
    DrGeroToken.objects.all().delete()
    sweep("active")
    assert RunRecord.objects.get(run_id=run_id).category == "unreadable"


def test_a_model_deleted_in_dr_gero_takes_its_unfinished_runs_with_it(
    sandbox: SandboxServer, operator: Any
) -> None:
    from console.models import ModelSyncState

    sweep()
    model_id, run_id = started(sandbox, operator)
    sweep()
    with sandbox.state.lock:
        del sandbox.state.models[model_id]
        del sandbox.state.runs[run_id]
    sweep("active")
    assert ModelSyncState.objects.get(pk=model_id).deleted_at is not None
    assert RunRecord.objects.get(run_id=run_id).category == "gone"
