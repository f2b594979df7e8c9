"""The one seam between services and the worker: a service says "do this later"; tasks do it.

Services never import ``console.tasks`` (tasks call services, so that would make a circle). A
service calls ``later(JOB, *args)``; ``console/tasks.py`` says which task does each job with
``@does(JOB)`` when it is imported, which ``console/apps.py`` makes happen at start in web
processes and the worker alike. The job is handed over when the current transaction commits,
so the worker never looks for rows that are not there yet.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from django.db import transaction
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
# What the queue raises when it cannot be reached: Redis restarting, or the one-machine SQLite
# queue locked past its timeout.
QUEUE_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, sqlite3.OperationalError)

DELIVERIES_FLUSH = "deliveries_flush"  # send the deliveries written for a run's end
MODEL_SYNC = "model_sync"  # a person's "Check Dr.Gero for updates": (member id, model, run)
DISCOVER_FOR_MEMBER = "discover_for_member"  # read what a newly saved token sees: (member id,)

_doers: dict[str, Callable[..., Any]] = {}


def does(job: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark the task that does ``job``."""

    def register(task: Callable[..., Any]) -> Callable[..., Any]:
        _doers[job] = task
        return task

    return register


class QueueUnavailable(Exception):
    """The worker's queue could not be reached, so the job was not handed over."""


def later(job: str, *args: Any, must_reach: bool = False) -> None:
    """Hand ``job`` to the worker once the current transaction commits.

    While the queue cannot be reached the job is not handed over, and that is logged: the
    worker's watcher sends deliveries that were never tried, and the sweeps read what a new
    token sees. With ``must_reach`` (a person waiting for it) ``QueueUnavailable`` is raised.
    """
    doer = _doers[job]  # a KeyError here is a programming error: no task does this job

    def hand_over() -> None:
        try:
            doer(*args)
        except QUEUE_UNREACHABLE as exc:
            log.warning(
                "job %s was not queued: the queue did not answer (%s)", job, type(exc).__name__
            )
            if must_reach:
                raise QueueUnavailable(job) from None

    transaction.on_commit(hand_over)
