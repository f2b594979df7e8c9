"""The one seam between services and the worker: a service says "do this later"; tasks do it.

Services never import ``console.tasks`` (tasks call services, so that would make a circle). A
service calls ``later(JOB, *args)``; ``console/tasks.py`` says which task does each job with
``@does(JOB)`` when it is imported, which ``console/apps.py`` makes happen at start in web
processes and the worker alike. The job is handed over when the current transaction commits,
so the worker never looks for rows that are not there yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

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


def later(job: str, *args: Any) -> None:
    """Hand ``job`` to the worker once the current transaction commits."""
    doer = _doers[job]  # a KeyError here is a programming error: no task does this job
    transaction.on_commit(lambda: doer(*args))
