"""A Redis restart is a cache miss, never a 500: sessions fall back to the database."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from console.cache import DegradingRedisCache
from console.roles import Role


def dead_redis() -> str:
    """A loopback port that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_an_unreachable_redis_reads_as_a_miss_and_skips_writes(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import console.cache

    monkeypatch.setattr(console.cache, "_last_warning", 0.0)  # not quieted by an earlier test
    caplog.set_level(logging.WARNING, logger="console.cache")
    cache = DegradingRedisCache(dead_redis(), {})
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get("k", default=7) == 7
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set("k", 1) is None
    assert cache.add("k", 1) is False
    assert cache.delete("k") is False
    assert not cache.has_key("k")
    assert "did not answer" in caplog.text


@pytest.mark.django_db
def test_signed_in_pages_answer_while_the_shared_cache_is_down(
    login_as: Any, make_member: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    shared = {"default": {"BACKEND": "console.cache.DegradingRedisCache", "LOCATION": dead_redis()}}
    with override_settings(
        CACHES=shared, SESSION_ENGINE="django.contrib.sessions.backends.cached_db"
    ):
        caches.close_all()
        member = make_member("viewer", Role.VIEWER)
        client = Client()
        client.force_login(member)
        assert client.get("/runs/").status_code == 200
        assert client.get("/audit/").status_code == 200
        assert client.post("/logout/").status_code == 302
        assert client.get("/runs/").status_code == 302  # the log-out held, from the database
    caches.close_all()


@pytest.mark.django_db(transaction=True)  # on_commit runs at once, as in a request
def test_a_check_asked_for_while_the_queue_is_down_says_so(
    login_as: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis restart under the worker's queue: the person is told, nothing stays pending."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from console import tasks
    from console.models import ModelSyncState

    def unreachable(*args: Any, **kwargs: Any) -> None:
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(tasks.HUEY, "enqueue", unreachable)
    client = login_as(Role.OPERATOR, token="drgero_sandbox_full")
    response = client.post("/models/m1/sync/", {"next": "/runs/"}, follow=True)
    assert response.status_code == 200
    assert "worker could not be reached just now" in response.content.decode()
    assert not ModelSyncState.objects.filter(sync_requested_at__isnull=False).exists()
    assert "was not queued" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_run_end_told_while_the_queue_is_down_is_sent_by_the_watcher_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from console import jobs, tasks

    calls: list[Any] = []

    def unreachable(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(tasks.HUEY, "enqueue", unreachable)
    jobs.later(jobs.DELIVERIES_FLUSH)  # outside a transaction: handed over at once
    assert len(calls) == 1  # tried, failed quietly; deliveries never tried wait for the watcher


def test_one_redis_client_serves_every_operation() -> None:
    """Django builds a ``redis.Redis`` for each operation; the console's backend, one per pool."""
    cache = DegradingRedisCache(dead_redis(), {})
    client = cache._cache.get_client()
    assert client is cache._cache.get_client(write=True) is cache._cache.get_client("k")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL), as CI runs")
def test_the_shared_client_keeps_each_threads_values_apart() -> None:
    cache = DegradingRedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "test-one-client"})
    problems: list[str] = []

    def work(n: int) -> None:
        for i in range(100):
            cache.set(f"t{n}-{i}", (n, i), 30)
            if cache.get(f"t{n}-{i}") != (n, i):
                problems.append(f"t{n}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert problems == []
    assert cache.get_many([f"t3-{i}" for i in range(100)]) == {
        f"t3-{i}": (3, i) for i in range(100)
    }
    cache.delete_many([f"t{n}-{i}" for n in range(8) for i in range(100)])
