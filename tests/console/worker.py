"""Helpers for tests of the worker: run a sweep, or execute what pages and services queued."""

from __future__ import annotations

from typing import Any

from huey.contrib.djhuey import HUEY

from console.services.sweeps import SWEEPS, SweepReport


def sweep(name: str = "discovery") -> SweepReport:
    """One sweep, as the worker runs it (without the chain and its lock)."""
    return SWEEPS[name]()


def run_queued(*, limit: int = 50) -> list[str]:
    """Execute the tasks waiting in the queue, in order, as a consumer would; their names."""
    done = []
    for _ in range(limit):
        task: Any = HUEY.dequeue()
        if task is None:
            break
        HUEY.execute(task)
        done.append(task.name)
    return done


def queued_names() -> list[str]:
    return [task.name for task in HUEY.pending()]
