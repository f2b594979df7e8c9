"""Helpers for tests of the worker: run a sweep, or execute what pages and services queued."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

from huey.contrib.djhuey import HUEY

from console.services.sweeps import SweepReport, sweep_once


def sweep(name: str = "discovery") -> SweepReport:
    """One sweep, as the worker runs and records it (without the chain and its lock)."""
    return sweep_once(name)[0]


def run_queued(*, limit: int = 50) -> list[str]:
    """Execute the tasks waiting in the queue, in order, as a consumer would; their names.

    A consumer closes database connections around each task; inside a test's transaction
    that would close the test's own connection, so here it does not.
    """
    done = []
    with mock.patch("huey.contrib.djhuey.close_old_connections"):
        for _ in range(limit):
            task: Any = HUEY.dequeue()
            if task is None:
                break
            HUEY.execute(task)
            done.append(task.name)
    return done


def run_scheduled(*, ahead: timedelta = timedelta(hours=1)) -> list[str]:
    """Execute the tasks scheduled within ``ahead`` (retries, next links), as if time passed."""
    later = HUEY._get_timestamp() + ahead
    done = []
    with mock.patch("huey.contrib.djhuey.close_old_connections"):
        for task in HUEY.read_schedule(later):
            HUEY.execute(task, timestamp=later)
            done.append(task.name)
    return done


def queued_names() -> list[str]:
    return [task.name for task in HUEY.pending()]
