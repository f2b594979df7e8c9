"""What the sandbox accepts in bodies, with Dr.Gero's documented 400 for the rest."""

from __future__ import annotations

import re
from typing import Any

from drgero_client.sandbox.state import ALGORITHMS, CADENCES, SandboxState, TokenGrant

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
BOOLEAN_FIELDS = ("auto_update_model", "continuous_self_learning", "hypertuning_parameters")
CREATION_MODES = ("auto", "manual")


class HttpError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.details = details or {}
        self.headers = headers or {}


def model_fields(
    state: SandboxState,
    grant: TokenGrant,
    body: dict[str, Any],
    *,
    creating: bool,
    current_cadence: str | None = None,
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}
    if "name" in body or creating:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "A non-empty name is required"
        elif len(name) > 200:
            errors["name"] = "At most 200 characters"
        else:
            fields["name"] = name.strip()
    if "description" in body:
        if body["description"] is not None and not isinstance(body["description"], str):
            errors["description"] = "Must be text"
        else:
            fields["description"] = body["description"] or ""
    if "leaderboard_ids" in body:
        ids = body["leaderboard_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            errors["leaderboard_ids"] = "Must be a list of leaderboard ids"
        else:
            bad = [i for i in ids if not UUID_RE.match(i)]
            unknown = [
                i
                for i in ids
                if UUID_RE.match(i)
                and state.leaderboards.get(i, {}).get("_workspace") != grant.workspace_id
            ]
            if bad:
                errors["leaderboard_ids"] = f"Not a UUID: {', '.join(bad)}"
            elif unknown:
                errors["leaderboard_ids"] = f"Unknown leaderboard: {', '.join(unknown)}"
            else:
                fields["leaderboard_ids"] = list(dict.fromkeys(ids))
    if "creation_mode" in body:
        if body["creation_mode"] not in CREATION_MODES:
            errors["creation_mode"] = f"Must be one of {', '.join(CREATION_MODES)}"
        else:
            fields["creation_mode"] = body["creation_mode"]
    for key in BOOLEAN_FIELDS:
        if key in body:
            if not isinstance(body[key], bool):
                errors[key] = "Must be true or false"
            else:
                fields[key] = body[key]
    if "fine_tune_schedule" in body and not creating:
        schedule = body["fine_tune_schedule"]
        if schedule is None:
            fields["fine_tune_schedule"] = None
        else:
            problem = schedule_problem(schedule, keep=current_cadence)
            if problem:
                errors["fine_tune_schedule"] = problem
            else:
                fields["fine_tune_schedule"] = schedule
    if errors:
        raise HttpError(400, "Invalid model fields", "validation_error", errors)
    return fields


def run_request(body: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    dataset = body.get("dataset_size", body.get("datasetSize"))
    problem = dataset_problem(dataset) if dataset is not None else None
    if problem:
        errors["dataset_size"] = problem
    for key in ("create_synthetic_data", "hypertuning_enabled"):
        if key in body and not isinstance(body[key], bool):
            errors[key] = "Must be true or false"
    if errors:
        raise HttpError(400, "Invalid run request", "validation_error", errors)
    return {
        "dataset_size": dataset
        or {"mode": "LIMIT", "limit": {"auto": True, "algorithm": "LAST_N"}},
        "create_synthetic_data": bool(body.get("create_synthetic_data", False)),
        "hypertuning_enabled": bool(body.get("hypertuning_enabled", False)),
    }


def dataset_problem(dataset: Any) -> str | None:
    if not isinstance(dataset, dict):
        return "Must be an object with mode and limit"
    if dataset.get("mode") != "LIMIT":
        return "mode must be LIMIT"
    limit = dataset.get("limit")
    if not isinstance(limit, dict):
        return "limit must be an object"
    auto = limit.get("auto", False)
    if not isinstance(auto, bool):
        return "limit.auto must be true or false"
    if limit.get("algorithm") not in ALGORITHMS:
        return f"limit.algorithm must be one of {', '.join(ALGORITHMS)}"
    rows = limit.get("rows")
    if not auto or rows is not None:
        if isinstance(rows, bool) or not isinstance(rows, int) or rows <= 0:
            return "limit.rows must be a positive whole number"
        if rows > 10_000_000:
            return "limit.rows must be at most 10,000,000"
    return None


def schedule_problem(schedule: Any, keep: str | None = None) -> str | None:
    """Documented cadences only, except the one the model already has (Dr.Gero's own value)."""
    if not isinstance(schedule, dict):
        return "Must be an object or null"
    run = schedule.get("run")
    allowed = (*CADENCES, keep) if keep else CADENCES
    if not isinstance(run, dict) or run.get("type") not in allowed:
        return f"run.type must be one of {', '.join(CADENCES)}"
    if "dataset" in schedule:
        return dataset_problem(schedule["dataset"])
    return None
