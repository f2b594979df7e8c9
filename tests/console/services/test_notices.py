"""The team webhook and run-end deliveries: one JSON document per run end, retries, secrecy."""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

import pytest
from django.test import Client

from console.models import Delivery, TeamWebhook
from console.roles import Role
from console.services import webhook
from console.services.runs import RunSettings, run_prepare, run_start
from console.services.webhook import webhook_save, webhook_url_problem
from drgero_client.sandbox import SandboxServer
from tests.console.webhook_receiver import SECRET_PATH, Receiver
from tests.console.worker import run_queued, run_scheduled, sweep

pytestmark = pytest.mark.django_db

SETTINGS = RunSettings(
    auto=False, rows=1000, algorithm="LAST_N", create_synthetic_data=False, hypertuning_enabled=True
)


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
    assert delivery.last_error == "the receiver answered 500"
    assert len(receiver.bodies) == 4
    client = Client()
    client.force_login(admin)
    page = client.get("/team/").content.decode()
    assert "did not go through" in page and "the receiver answered 500" in page
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


# The webhook reaches only the outside.

REFUSED_AT_SAVE = [
    ("https://127.0.0.1:6379/", "loopback"),
    ("https://localhost:8000/", "loopback"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://10.0.0.1/", "private"),
    ("https://172.16.5.4/", "private"),
    ("https://192.168.1.1/", "private"),
    ("https://[fd00::1]/", "private"),
    ("https://[fe80::1]/", "link-local"),
    ("https://100.64.0.1/", "shared"),
    ("https://224.0.0.1/", "multicast"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://[::]/", "unspecified"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),
    ("https://[::ffff:169.254.169.254]/", "link-local"),
    ("https://[2002:a00:1::]/", "private"),  # 6to4 around 10.0.0.1
    ("https://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 around 169.254.169.254
    ("https://240.0.0.1/", "reserved"),
    ("https://internal.team.example/", "private"),  # a name that resolves inside
    ("https://metadata.team.example/", "link-local"),
]


@pytest.mark.parametrize(("url", "rule"), REFUSED_AT_SAVE)
def test_internal_addresses_are_refused_at_save_naming_the_rule(
    url: str, rule: str, _resolver: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolver["internal.team.example"] = "10.1.2.3"
    _resolver["metadata.team.example"] = "169.254.169.254"
    _resolver["localhost"] = "127.0.0.1"
    tried = _no_connections(monkeypatch)
    problem = webhook_url_problem(url)
    assert problem is not None and webhook.RULE_WORDS[rule] in problem, problem
    assert "CONSOLE_WEBHOOK_ALLOW_PRIVATE" in problem
    assert tried == []


def test_a_name_with_one_internal_answer_among_public_ones_is_refused(
    _resolver: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        webhook,
        "resolve",
        lambda host, port: [
            ipaddress.ip_address("93.184.215.14"),
            ipaddress.ip_address("10.0.0.7"),
        ],
    )
    assert "private address" in (webhook_url_problem("https://mixed.example.org/x") or "")


def test_the_form_refuses_an_internal_address_and_saves_nothing(login_as: Any) -> None:
    admin = login_as(Role.ADMIN)
    response = admin.post("/team/webhook/", {"url": "https://169.254.169.254/latest/"})
    assert response.status_code == 422
    assert "link-local address" in response.content.decode()
    assert not TeamWebhook.objects.exists()


def test_the_switch_opens_internal_ranges_but_never_link_local(settings: Any) -> None:
    settings.CONSOLE_WEBHOOK_ALLOW_PRIVATE = True
    assert webhook_url_problem("https://10.0.0.1/hook") is None
    assert webhook_url_problem("https://[fd00::1]/hook") is None
    assert webhook_url_problem("https://100.64.0.1/hook") is None
    assert webhook_url_problem("https://169.254.169.254/") is not None
    assert webhook_url_problem("https://[fe80::1]/") is not None
    settings.CONSOLE_WEBHOOK_ALLOW_PRIVATE = False
    assert webhook_url_problem("https://10.0.0.1/hook") is not None


def _no_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record, and refuse, any connection attempt: the refusals must happen before one."""
    import urllib3.util.connection

    tried: list[Any] = []

    def connect(address: Any, *args: Any, **kwargs: Any) -> Any:
        tried.append(address)
        raise OSError("no connection may be attempted here")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    monkeypatch.setattr(socket, "create_connection", connect)
    return tried


@pytest.mark.parametrize("answer", ["169.254.169.254", "10.0.0.1", "127.0.0.1", "fd00::1"])
def test_a_dns_answer_that_turns_internal_after_saving_is_refused_at_send(
    answer: str,
    sandbox: SandboxServer,
    make_member: Any,
    django_capture_on_commit_callbacks: Any,
    _resolver: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = make_member("boss", Role.ADMIN, token="drgero_sandbox_full")
    assert webhook_save(actor=admin, url="https://hooks.example.org/hook") is None
    _resolver["hooks.example.org"] = answer  # the name now points inside
    tried = _no_connections(monkeypatch)
    end_a_run(sandbox, admin, django_capture_on_commit_callbacks)
    run_queued()
    delivery = Delivery.objects.get(channel="webhook")
    assert tried == []
    assert delivery.state == "pending" and delivery.attempts == 1
    assert delivery.last_error.startswith("could not deliver: hooks.example.org is a")
    assert "may not reach" in delivery.last_error


def test_the_call_goes_to_the_address_that_was_checked(
    sandbox: SandboxServer,
    make_member: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
    _resolver: dict[str, str],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Resolved once and pinned: a second answer for the same name is never asked for."""
    port = receiver.server.server_port
    _resolver["localhost"] = "127.0.0.1"
    answers = iter(["127.0.0.1"])
    asked: list[str] = []

    def resolve_once(host: str, port: int) -> list[Any]:
        asked.append(host)
        return [ipaddress.ip_address(next(answers, "10.9.9.9"))]

    admin = make_member("boss", Role.ADMIN, token="drgero_sandbox_full")
    assert webhook_save(actor=admin, url=f"http://localhost:{port}/hook") is None
    monkeypatch.setattr(webhook, "resolve", resolve_once)
    end_a_run(sandbox, admin, django_capture_on_commit_callbacks)
    run_queued()
    assert asked == ["localhost"]
    assert receiver.hosts == [f"localhost:{port}"]  # the name travels in Host
    assert Delivery.objects.get(channel="webhook").state == "sent"


def test_a_redirect_to_a_live_local_receiver_is_not_followed(
    sandbox: SandboxServer,
    make_member: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    elsewhere = Receiver()
    try:
        receiver.redirect_to = elsewhere.url
        receiver.statuses = [307]
        admin = make_member("boss", Role.ADMIN, token="drgero_sandbox_full")
        webhook_save(actor=admin, url=receiver.url)
        end_a_run(sandbox, admin, django_capture_on_commit_callbacks)
        run_queued()
        assert len(receiver.bodies) == 1
        assert elsewhere.bodies == []  # the live receiver it pointed at got nothing
        assert Delivery.objects.get(channel="webhook").last_error == "the receiver answered 307"
    finally:
        elsewhere.server.shutdown()
        elsewhere.server.server_close()


def test_a_closed_port_and_a_slow_receiver_read_the_same(
    sandbox: SandboxServer,
    make_member: Any,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.CONSOLE_WEBHOOK_TIMEOUT = (0.5, 0.3)
    admin = make_member("boss", Role.ADMIN, token="drgero_sandbox_full")
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = unused.getsockname()[1]
    webhook_save(actor=admin, url=f"http://127.0.0.1:{closed}/hook")
    end_a_run(sandbox, admin, django_capture_on_commit_callbacks)
    run_queued()
    closed_words = Delivery.objects.get(channel="webhook").last_error
    Delivery.objects.all().delete()
    receiver.delay = 1.0
    webhook_save(actor=admin, url=receiver.url)
    member = make_member("op2", Role.OPERATOR, token="drgero_sandbox_full")
    end_a_run(sandbox, member, django_capture_on_commit_callbacks)
    run_queued()
    slow_words = Delivery.objects.get(channel="webhook").last_error
    assert closed_words == slow_words == "could not deliver"
