"""Frozen records for what Dr.Gero returns, built by tolerant parsers.

Dr.Gero documents no response shapes, so every parser accepts snake_case or camelCase keys,
ignores keys it does not know (keeping the raw dict), and keeps unknown enum values as sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from drgero_client.errors import InvalidResponseError

ALGORITHMS = ("LAST_N", "RANDOM_SHUFFLE", "WEIGHTED_SHUFFLE")
CADENCES = ("REAL_TIME", "DAILY", "WEEKLY", "MONTHLY")
LIST_KEYS = (
    "models",
    "data",
    "items",
    "results",
    "runs",
    "leaderboards",
    "base_models",
    "baseModels",
)
TOTAL_KEYS = ("total", "count", "total_count", "totalCount")

_CAMEL_BOUNDARY = re.compile(r"_([a-z])")


@functools.lru_cache(maxsize=512)
def camel(key: str) -> str:
    """``created_at`` → ``createdAt``."""
    return _CAMEL_BOUNDARY.sub(lambda m: m.group(1).upper(), key)


@functools.lru_cache(maxsize=512)
def _candidates(key: str, aliases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((key, camel(key), *aliases)))


def pick(data: Mapping[str, Any], key: str, *aliases: str, default: Any = None) -> Any:
    """The value under the snake_case key, its camelCase twin, or any alias; else ``default``."""
    for candidate in _candidates(key, aliases):
        value = data.get(candidate)
        if value is not None:
            return value
    return default


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def as_datetime(value: Any) -> datetime | None:
    """ISO 8601 text (``Z`` allowed) or epoch seconds/milliseconds → an aware UTC datetime."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    return None


def as_mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``total`` is None when Dr.Gero did not say."""

    items: tuple[T, ...]
    total: int | None
    limit: int
    offset: int
    # A digest of Dr.Gero's answer: equal answers give equal digests (b"" when not known).
    answer: bytes = field(default=b"", compare=False)

    @property
    def has_more(self) -> bool:
        if self.total is not None:
            return self.offset + len(self.items) < self.total
        return len(self.items) >= self.limit


@dataclass(frozen=True)
class DatasetSize:
    """The dataset object shared by run requests (``dataset_size``) and schedules (``dataset``)."""

    auto: bool
    rows: int | None
    algorithm: str
    mode: str = "LIMIT"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(
        cls, *, auto: bool, rows: int | None, algorithm: str, mode: str = "LIMIT"
    ) -> DatasetSize:
        """A dataset as a person chose it: an automatic size has no row count, whatever was
        typed in the rows field before choosing it. The one place this rule lives."""
        return cls(auto=auto, rows=None if auto else rows, algorithm=algorithm, mode=mode)

    @classmethod
    def from_api(cls, data: Any) -> DatasetSize | None:
        if not isinstance(data, dict):
            return None
        limit = as_mapping(pick(data, "limit"))
        return cls(
            auto=bool(as_bool(pick(limit, "auto"))),
            rows=as_int(pick(limit, "rows")),
            algorithm=as_str(pick(limit, "algorithm")) or "",
            mode=as_str(pick(data, "mode")) or "LIMIT",
            raw=data,
        )

    def to_api(self) -> dict[str, Any]:
        limit: dict[str, Any] = {"auto": self.auto}
        if not self.auto and self.rows is not None:
            limit["rows"] = self.rows
        limit["algorithm"] = self.algorithm
        return {"mode": self.mode, "limit": limit}


@dataclass(frozen=True)
class Schedule:
    """A model's ``fine_tune_schedule``: a cadence (``run.type``) and a dataset."""

    cadence: str
    dataset: DatasetSize | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> Schedule | None:
        if not isinstance(data, dict):
            return None
        run = as_mapping(pick(data, "run"))
        cadence = as_str(pick(run, "type")) or as_str(pick(data, "type", "cadence")) or ""
        return cls(cadence=cadence, dataset=DatasetSize.from_api(pick(data, "dataset")), raw=data)

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"run": {"type": self.cadence}}
        if self.dataset is not None:
            body["dataset"] = self.dataset.to_api()
        return body


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    description: str
    creation_mode: str | None
    auto_update_model: bool | None
    continuous_self_learning: bool | None
    hypertuning_parameters: bool | None
    leaderboard_ids: tuple[str, ...]
    schedule: Schedule | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    KNOWN_KEYS = frozenset(
        {
            "id",
            "model_id",
            "name",
            "model_name",
            "description",
            "creation_mode",
            "auto_update_model",
            "continuous_self_learning",
            "hypertuning_parameters",
            "leaderboard_ids",
            "fine_tune_schedule",
            "created_at",
            "updated_at",
        }
    )

    @classmethod
    def from_api(cls, data: Any) -> Model:
        data = _require_object(data, "model")
        model_id = as_str(pick(data, "id", "modelId", "model_id"))
        if not model_id:
            raise InvalidResponseError("Dr.Gero returned a model without an id")
        board_ids = pick(data, "leaderboard_ids", default=[])
        return cls(
            id=model_id,
            name=as_str(pick(data, "name", "modelName", "model_name")) or "",
            description=as_str(pick(data, "description")) or "",
            creation_mode=as_str(pick(data, "creation_mode")),
            auto_update_model=as_bool(pick(data, "auto_update_model")),
            continuous_self_learning=as_bool(pick(data, "continuous_self_learning")),
            hypertuning_parameters=as_bool(pick(data, "hypertuning_parameters")),
            leaderboard_ids=tuple(
                s for s in (as_str(b) for b in _as_list(board_ids)) if s is not None
            ),
            schedule=Schedule.from_api(pick(data, "fine_tune_schedule")),
            created_at=as_datetime(pick(data, "created_at")),
            updated_at=as_datetime(pick(data, "updated_at")),
            raw=data,
        )

    def other_details(self) -> dict[str, Any]:
        """Fields the console does not know, as Dr.Gero sent them."""
        known = self.KNOWN_KEYS | {camel(k) for k in self.KNOWN_KEYS}
        return {k: v for k, v in self.raw.items() if k not in known}


@dataclass(frozen=True)
class BaseModel:
    id: str
    name: str
    description: str
    provider: str | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> BaseModel:
        data = _require_object(data, "base model")
        ident = as_str(pick(data, "id", "baseModelId", "base_model_id", "name"))
        if not ident:
            raise InvalidResponseError("Dr.Gero returned a base model without an id")
        return cls(
            id=ident,
            name=as_str(pick(data, "name", "displayName", "display_name")) or ident,
            description=as_str(pick(data, "description")) or "",
            provider=as_str(pick(data, "provider", "vendor")),
            raw=data,
        )


@dataclass(frozen=True)
class Leaderboard:
    id: str
    name: str
    description: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> Leaderboard:
        data = _require_object(data, "leaderboard")
        ident = as_str(pick(data, "id", "leaderboardId", "leaderboard_id"))
        if not ident:
            raise InvalidResponseError("Dr.Gero returned a leaderboard without an id")
        return cls(
            id=ident,
            name=as_str(pick(data, "name", "title")) or ident,
            description=as_str(pick(data, "description")) or "",
            raw=data,
        )


@dataclass(frozen=True)
class Run:
    """A fine-tune run. ``status`` is kept exactly as Dr.Gero sent it."""

    id: str
    model_id: str | None
    status: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    dataset_size: DatasetSize | None
    create_synthetic_data: bool | None
    hypertuning_enabled: bool | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> Run:
        data = _require_object(data, "run")
        run_id = as_str(pick(data, "id", "runId", "run_id"))
        if not run_id:
            raise InvalidResponseError("Dr.Gero returned a run without an id")
        error = pick(data, "error", "error_message", "errorMessage", "failure_reason")
        if isinstance(error, dict):
            error = pick(error, "message", default=None)
        return cls(
            id=run_id,
            model_id=as_str(pick(data, "model_id", "modelId")),
            status=as_str(pick(data, "status", "state")) or "",
            created_at=as_datetime(pick(data, "created_at", "createdAt", "submitted_at")),
            started_at=as_datetime(pick(data, "started_at")),
            finished_at=as_datetime(
                pick(data, "finished_at", "completed_at", "completedAt", "ended_at")
            ),
            error=as_str(error),
            dataset_size=DatasetSize.from_api(pick(data, "dataset_size", "dataset")),
            create_synthetic_data=as_bool(pick(data, "create_synthetic_data")),
            hypertuning_enabled=as_bool(pick(data, "hypertuning_enabled")),
            raw=data,
        )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _require_object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidResponseError(f"Dr.Gero returned a {what} that is not an object")
    return data


def unwrap_object(body: Any, *keys: str) -> Any:
    """A single object, bare or wrapped (``{"model": {...}}``, ``{"data": {...}}``)."""
    if isinstance(body, dict):
        for key in (*keys, "data", "result", "item"):
            inner = body.get(key)
            if isinstance(inner, dict):
                return inner
    return body


def unwrap_list(body: Any) -> tuple[list[Any], int | None]:
    """A list, bare or under one of the usual envelope keys, and the total when given."""
    if isinstance(body, list):
        return body, None
    if isinstance(body, dict):
        total = next((t for t in (as_int(body.get(k)) for k in TOTAL_KEYS) if t is not None), None)
        for key in LIST_KEYS:
            value = body.get(key)
            if isinstance(value, list):
                return value, total
            if isinstance(value, dict):  # {"data": {"items": [...], "total": n}}
                inner, inner_total = unwrap_list(value)
                if inner or any(k in value for k in LIST_KEYS):
                    return inner, inner_total if inner_total is not None else total
    raise InvalidResponseError("Dr.Gero returned a list in a shape the console does not know")


def parse_list(items: Iterable[Any], parser: Any) -> tuple[Any, ...]:
    return tuple(parser(item) for item in items)
