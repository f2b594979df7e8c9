"""The shared cache on Redis, which a Redis restart must not turn into errors on every page.

Django's own ``RedisCache`` raises when Redis cannot be reached, and sessions (``cached_db``)
read through the cache, so every signed-in page answered 500 for the seconds a restart took
(`make soak` saw 79 of them). Here an unreachable Redis is a cache miss, and a write to it is
skipped: sessions fall back to the database, which ``cached_db`` writes first anyway, and the
other cached values (model searches, base-model names) are read again from Dr.Gero.

Django's backend is kept rather than django-redis (whose ``IGNORE_EXCEPTIONS`` does the same)
so that one Redis client serves the cache and the worker's queue. What stays: a session changed
or ended while Redis is unreachable but still holds its data (a network partition, not a
restart, which empties it) is read from Redis as it was until it expires; docs/deploy.md says so.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
_last_warning = 0.0


def _warn(operation: str, exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 10:  # one line every ten seconds, not one per request
        _last_warning = now
        log.warning(
            "the shared cache (Redis) did not answer a %s: %s", operation, type(exc).__name__
        )


def _degrade(default: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def safe(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                _warn(method.__name__, exc)
                return default() if callable(default) else default

        return safe

    return wrap


class OneClientPerPool(RedisCacheClient):
    """Django's Redis cache client, with one ``redis.Redis`` per connection pool instead of a
    new one for every operation: redis-py fills a table of about 170 reply callbacks in each
    one it builds, 6 % of a bare page's profile (its session is one cache read). redis-py says
    a ``redis.Redis`` may be shared between threads: each command takes a connection from the
    pool and gives it back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:  # two threads may both build one; either serves
            client = self._clients[id(pool)] = redis.Redis(connection_pool=pool)
        return client


class DegradingRedisCache(RedisCache):
    """``RedisCache`` that reads as a miss and skips writes while Redis cannot be reached."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = OneClientPerPool

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except UNREACHABLE as exc:
            _warn("get", exc)
            return default  # a miss: the caller's own default

    get_many = _degrade(dict)(RedisCache.get_many)
    has_key = _degrade(False)(RedisCache.has_key)
    set = _degrade(None)(RedisCache.set)
    set_many = _degrade(list)(RedisCache.set_many)
    add = _degrade(False)(RedisCache.add)
    touch = _degrade(False)(RedisCache.touch)
    delete = _degrade(False)(RedisCache.delete)
    delete_many = _degrade(None)(RedisCache.delete_many)
