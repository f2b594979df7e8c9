"""Background tasks, run by `manage.py run_huey`. Each one only calls services.

- ``sweep``: one link of a sweep chain; it schedules the next link itself, so the intervals
  can be shorter than the minute that Huey's periodic tasks resolve.
- ``sweeps_watch`` (every minute, on the one consumer that runs periodic tasks): restarts a
  chain that broke and sends deliveries whose enqueue was lost.
- ``model_sync``: a person's "Check Dr.Gero for updates".
- ``deliver``: one email or webhook call about a run's end, retried by Huey.
"""

from __future__ import annotations

import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, on_startup
from huey.exceptions import TaskLockedException

from console import jobs
from console.services import deliveries, run_checks, sweeps

log = logging.getLogger(__name__)


@db_task()
def sweep(name: str, chain_id: str) -> None:
    lock = HUEY.lock_task(f"sweep-{name}")
    try:
        with lock:
            delay = sweeps.chain_link(name, chain_id)
    except TaskLockedException:
        if sweeps.lock_is_stale(name):
            log.warning("%s sweep lock left by a stopped worker; clearing it", name)
            lock.clear()
        delay = sweeps.chain_busy(name, chain_id)
    if delay is not None:
        sweep.schedule(args=(name, chain_id), delay=delay)


def _start_chains(*, restart_all: bool) -> None:
    for name, chain_id in sweeps.chains_revive(restart_all=restart_all):
        sweep(name, chain_id)


@db_task()
def sweeps_start() -> None:
    """A worker started: sweep now, so a fresh console fills within seconds."""
    _start_chains(restart_all=True)


@db_periodic_task(crontab(minute="*"))
def sweeps_watch() -> None:
    _start_chains(restart_all=False)
    for delivery_id in deliveries.deliveries_due(older_than=deliveries.LOST_ENQUEUE):
        deliver(delivery_id)


@jobs.does(jobs.DISCOVER_FOR_MEMBER)
@db_task()
def discover_for_member(member_id: int) -> None:
    """A member saved a token: read what it sees now, not at the next discovery sweep."""
    sweeps.sweep_member(member_id)


@jobs.does(jobs.MODEL_SYNC)
@db_task()
def model_sync(user_id: int, model_id: str, run_id: str | None = None) -> None:
    run_checks.run_sync_perform(user_id=user_id, model_id=model_id, run_id=run_id)


@db_task(
    retries=settings.CONSOLE_WEBHOOK_ATTEMPTS - 1,
    retry_delay=settings.CONSOLE_WEBHOOK_RETRY_SECONDS,
)
def deliver(delivery_id: int) -> None:
    deliveries.delivery_send(delivery_id)


@jobs.does(jobs.DELIVERIES_FLUSH)
@db_task()
def deliveries_flush() -> None:
    for delivery_id in deliveries.deliveries_due():
        deliver(delivery_id)


@on_startup()
def _first_sweeps() -> None:
    if not HUEY.immediate:
        sweeps_start()
