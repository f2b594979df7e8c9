"""Shared fixtures: one sandbox per test session, reset before each test; members by role."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from drgero_client.sandbox import SandboxServer

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

FULL = "drgero_sandbox_full"
READONLY = "drgero_sandbox_readonly"
NOFINETUNE = "drgero_sandbox_nofinetune"
FREEPLAN = "drgero_sandbox_freeplan"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer("127.0.0.1", 0, seed="demo").start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The sandbox, reset to the demo seed with no faults and an empty request log."""
    sandbox_server.reset("demo")
    sandbox_server.state.latency_ms = 0
    return sandbox_server


@pytest.fixture(autouse=True)
def _console_settings(request: pytest.FixtureRequest, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    """Every test gets its own audit head file; Django tests point at the sandbox."""
    settings.CONSOLE_AUDIT_HEAD_FILE = tmp_path / "audit-head.json"
    if "sandbox" in request.fixturenames or "sandbox_server" in request.fixturenames:
        server = request.getfixturevalue("sandbox_server")
        settings.DRGERO_API_BASE = server.url


@pytest.fixture
def worker(settings) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The real Huey consumer, as `run_huey` starts it: two worker threads and the scheduler.

    Its startup hook starts both sweep chains; the active sweep runs every second here.
    """
    import signal

    from huey.contrib.djhuey import HUEY

    import console.tasks  # noqa: F401  (run_huey imports each app's tasks module the same way)

    settings.CONSOLE_SYNC_ACTIVE_SECONDS = 1
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    HUEY.flush()
    consumer = HUEY.create_consumer(workers=2, worker_type="thread", initial_delay=0.05)
    consumer.start()
    yield consumer
    consumer.stop(graceful=True)
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    HUEY.flush()
