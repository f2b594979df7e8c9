"""The team webhook and run-end deliveries: one JSON document per run end, retries, secrecy."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from console.models import Delivery, TeamWebhook
from console.roles import Role
from console.services.notices import webhook_save, webhook_url_problem
from console.services.runs import RunSettings, run_prepare, run_start
from drgero_client.sandbox import SandboxServer
from tests.console.worker import run_queued, run_scheduled, sweep

pytestmark = pytest.mark.django_db

SECRET_PATH = "/hooks/T000/B000/webhook-path-secret-6f1d"
SETTINGS = RunSettings(
    auto=False, rows=1000, algorithm="LAST_N", create_synthetic_data=False, hypertuning_enabled=True
)


class Receiver:
    """A local webhook receiver: records each JSON body; answers with the statuses queued."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()
    yield got
    got.server.shutdown()
    got.server.server_close()


def end_a_run(sandbox: SandboxServer, member: Any, capture: Any, outcome: str = "") -> None:
    model_id = sandbox.state.add_model("ws_main", name="Hooked")["id"]
    if outcome:
        sandbox.state.set_next_outcome(outcome, "Out of memory")
    submission = run_prepare(user=member, model_id=model_id, model_name="Hooked", settings=SETTINGS)
    assert run_start(user=member, submission_id=submission.pk).started
    sandbox.state.clock.advance(7200)
    with capture(execute=True):
        sweep("active")


def test_the_webhook_gets_one_json_document_per_run_end(
    sandbox: SandboxServer,
    make_member: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    member = make_member("op", Role.OPERATOR, token="drgero_sandbox_full")
    assert webhook_save(actor=member, url=receiver.url) is None
    end_a_run(sandbox, member, django_capture_on_commit_callbacks, outcome="FAILED")
    with django_capture_on_commit_callbacks(execute=True):
        sweep("active")
        sweep()
    run_queued()
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert body["event"] == "run.ended" and body["run"]["outcome"] == "failed"
    assert body["run"]["model_name"] == "Hooked" and body["run"]["started_by"] == "op"
    assert "Hooked failed" in body["text"] and "Out of memory" in body["text"]
    assert Delivery.objects.get(channel="webhook").state == "sent"


def test_webhook_failures_are_retried_then_shown_to_admins(
    sandbox: SandboxServer,
    make_member: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.CONSOLE_WEBHOOK_ATTEMPTS = 4
    admin = make_member("boss", Role.ADMIN, token="drgero_sandbox_full")
    webhook_save(actor=admin, url=receiver.url)
    receiver.statuses = [500, 302, 500, 500]  # a redirect is not followed: it is a failure
    caplog.set_level(logging.DEBUG)
    end_a_run(sandbox, admin, django_capture_on_commit_callbacks)
    run_queued()
    for _ in range(6):
        run_scheduled()  # Huey's retries come back as scheduled tasks, due 30 s later
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.attempts == 4 and delivery.state == "failed"
    assert delivery.last_error == "the webhook answered 500"
    assert len(receiver.bodies) == 4
    client = Client()
    client.force_login(admin)
    page = client.get("/team/").content.decode()
    assert "did not go through" in page and "the webhook answered 500" in page
    assert "given up" in page and "127.0.0.1" in page
    assert SECRET_PATH not in page
    assert SECRET_PATH not in caplog.text and "drgero_sandbox" not in caplog.text


def test_the_webhook_url_is_stored_encrypted_and_never_shown(
    make_member: Any, receiver: Receiver
) -> None:
    admin = make_member("boss", Role.ADMIN)
    client = Client()
    client.force_login(admin)
    response = client.post("/team/webhook/", {"url": receiver.url})
    assert response.status_code == 302
    hook = TeamWebhook.objects.get()
    assert SECRET_PATH not in hook.ciphertext and hook.host == "127.0.0.1"
    page = client.get("/team/").content.decode()
    assert SECRET_PATH not in page and "Sending to <strong>127.0.0.1</strong>" in page
    from console.models import AuditEvent

    event = AuditEvent.objects.get(action="team.webhook_set")
    assert SECRET_PATH not in event.changes + event.target_name


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://hooks.example.org/x", "full web address"),
        ("http://hooks.example.org/x", "must start with https://"),
        ("https://user:pw@hooks.example.org/x", "user name and password"),
        ("not a url", "full web address"),
    ],
)
def test_webhook_addresses_that_are_refused(url: str, words: str) -> None:
    problem = webhook_url_problem(url)
    assert problem is not None and words in problem


def test_loopback_http_is_refused_in_production(settings: Any) -> None:
    settings.CONSOLE_WEBHOOK_ALLOW_LOOPBACK_HTTP = False
    assert webhook_url_problem("http://127.0.0.1:9000/hook") is not None
    assert webhook_url_problem("https://hooks.example.org/hook") is None


def test_only_admins_set_the_webhook(login_as: Any, receiver: Receiver) -> None:
    operator = login_as(Role.OPERATOR)
    assert operator.post("/team/webhook/", {"url": receiver.url}).status_code == 403
    assert not TeamWebhook.objects.exists()


def test_a_refused_address_changes_nothing_and_keeps_the_form(login_as: Any) -> None:
    admin = login_as(Role.ADMIN)
    response = admin.post("/team/webhook/", {"url": "http://hooks.example.org/x"})
    assert response.status_code == 422
    assert "must start with https://" in response.content.decode()
    assert not TeamWebhook.objects.exists()
