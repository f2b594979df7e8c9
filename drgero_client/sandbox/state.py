"""The sandbox's in-memory Dr.Gero: workspaces, tokens, models, leaderboards, runs, faults."""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drgero_client.sandbox.clock import SandboxClock

ALGORITHMS = ("LAST_N", "RANDOM_SHUFFLE", "WEIGHTED_SHUFFLE")
CADENCES = ("REAL_TIME", "DAILY", "WEEKLY", "MONTHLY")
ACTIVE_STATUSES = ("QUEUED", "RUNNING")
QUEUE_SECONDS = 20
RUN_SECONDS = 120


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


@dataclass
class Workspace:
    id: str
    name: str
    plan: str  # "paid" or "free"


@dataclass
class TokenGrant:
    workspace_id: str
    scopes: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        if not self.scopes:  # an empty scope list is full access, as the documentation allows
            return True
        family = scope.split(":", 1)[0]
        return any(s in ("*", scope, f"{family}:*") for s in self.scopes)


@dataclass
class SandboxRun:
    id: str
    model_id: str
    workspace_id: str
    created_at: datetime
    request: dict[str, Any]
    outcome: str = "SUCCEEDED"  # or FAILED or CANCELLED
    error: str | None = None
    queue_seconds: float = QUEUE_SECONDS
    run_seconds: float = RUN_SECONDS
    trigger: str = "api"

    def status_at(self, now: datetime) -> str:
        if now < self.started_at:
            return "QUEUED"
        if now < self.finished_at:
            return "RUNNING"
        return self.outcome

    @property
    def started_at(self) -> datetime:
        return self.created_at + timedelta(seconds=self.queue_seconds)

    @property
    def finished_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.run_seconds)

    def to_api(self, now: datetime) -> dict[str, Any]:
        status = self.status_at(now)
        body: dict[str, Any] = {
            "id": self.id,
            "model_id": self.model_id,
            "status": status,
            "trigger": self.trigger,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at) if status != "QUEUED" else None,
            "finished_at": iso(self.finished_at) if status not in ACTIVE_STATUSES else None,
            "dataset_size": self.request.get("dataset_size"),
            "create_synthetic_data": self.request.get("create_synthetic_data", False),
            "hypertuning_enabled": self.request.get("hypertuning_enabled", False),
        }
        if status == "FAILED":
            body["error"] = self.error or "Training diverged: loss became NaN at step 412."
        return body


@dataclass
class Fault:
    """A failure armed for requests matching ``method`` and the ``path`` pattern.

    kind: ``status`` (answer ``status`` with ``body`` and ``headers``), ``nonjson`` (a 200 that
    is not JSON), ``delay`` (sleep ``delay_s``, then answer), ``drop`` (close the connection
    without answering). With ``apply`` the real action happens first, then the fault.
    ``times`` is how many requests it hits (None: until cleared); ``chance`` the share of
    matching requests it hits (1.0: every one), for soak runs that fail one call in ten.
    """

    path: str
    method: str | None = None
    kind: str = "status"
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    times: int | None = None
    apply: bool = False
    chance: float = 1.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if re.fullmatch(self.path, path) is None:
            return False
        return self.chance >= 1.0 or random.random() < self.chance  # noqa: S311  (not security)


@dataclass
class SeenRequest:
    method: str
    path: str
    query: str
    body: bytes
    auth_scheme: str


class SandboxState:
    """Everything the sandbox remembers; one lock guards it all."""

    def __init__(self, *, clock: SandboxClock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or SandboxClock()
        self.workspaces: dict[str, Workspace] = {}
        self.tokens: dict[str, TokenGrant] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.leaderboards: dict[str, dict[str, Any]] = {}
        self.base_models: list[dict[str, Any]] = []
        self.runs: dict[str, SandboxRun] = {}
        self.faults: list[Fault] = []
        self.seen: list[SeenRequest] = []
        self.latency_ms = 0
        self.next_outcomes: list[tuple[str, str | None]] = []
        self.waiting = 0
        self.most_waiting = 0  # the most requests inside their latency at the same time

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        with self.lock:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        try:
            yield
        finally:
            with self.lock:
                self.waiting -= 1

    # Faults and the request log.

    def arm(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record(self, request: SeenRequest) -> None:
        with self.lock:
            self.seen.append(request)

    def count(self, method: str, path_pattern: str) -> int:
        with self.lock:
            return sum(
                1 for r in self.seen if r.method == method and re.fullmatch(path_pattern, r.path)
            )

    # Helpers for the seed and for tests.

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def add_model(self, workspace_id: str, **fields: Any) -> dict[str, Any]:
        now = self.clock.now()
        model: dict[str, Any] = {
            "id": fields.pop("id", None) or self.new_id(),
            "name": "Untitled",
            "description": "",
            "leaderboard_ids": [],
            "creation_mode": "auto",
            "auto_update_model": False,
            "continuous_self_learning": False,
            "hypertuning_parameters": False,
            "fine_tune_schedule": None,
            "base_model_id": None,
            "status": "READY",
            "created_at": iso(now),
            "updated_at": iso(now),
        }
        model.update(fields)
        with self.lock:
            self.models[model["id"]] = {**model, "_workspace": workspace_id}
        return model

    def add_run(self, model_id: str, **fields: Any) -> SandboxRun:
        model = self.models[model_id]
        run = SandboxRun(
            id=fields.pop("id", None) or self.new_id(),
            model_id=model_id,
            workspace_id=model["_workspace"],
            created_at=fields.pop("created_at", None) or self.clock.now(),
            request=fields.pop("request", None) or default_run_request(),
            **fields,
        )
        with self.lock:
            self.runs[run.id] = run
        return run

    def set_next_outcome(self, outcome: str, error: str | None = None) -> None:
        """The next started run ends this way (tests use it to get a FAILED run)."""
        with self.lock:
            self.next_outcomes.append((outcome, error))

    def model_runs(self, model_id: str) -> list[SandboxRun]:
        with self.lock:
            runs = [r for r in self.runs.values() if r.model_id == model_id]
        return sorted(runs, key=lambda r: r.created_at, reverse=True)

    def active_run(self, model_id: str) -> SandboxRun | None:
        now = self.clock.now()
        for run in self.model_runs(model_id):
            if run.status_at(now) in ACTIVE_STATUSES:
                return run
        return None


def default_run_request() -> dict[str, Any]:
    return {
        "dataset_size": {
            "mode": "LIMIT",
            "limit": {"auto": False, "rows": 1000, "algorithm": "LAST_N"},
        },
        "create_synthetic_data": False,
        "hypertuning_enabled": True,
    }


def public_model(model: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.items() if not k.startswith("_")}
