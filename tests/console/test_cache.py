"""A Redis restart is a cache miss, never a 500: sessions fall back to the database."""

from __future__ import annotations

import logging
import socket
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
