"""The sandbox's world on disk, so that a demo keeps what was made in it across restarts.

What is kept: workspaces, tokens, models (with their schedules), leaderboards, base models,
runs, the queued outcomes of the next runs, and how far the sandbox's clock runs ahead of the
wall clock. What is not: faults, latency and the request log, which belong to one test or
benchmark. The file is written whole, to a temporary name and then renamed, so a process
killed while writing leaves the previous world, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drgero_client.sandbox.state import SandboxRun, SandboxState, TokenGrant, Workspace

VERSION = 1
_write_lock = threading.Lock()


def world(state: SandboxState) -> dict[str, Any]:
    with state.lock:
        return {
            "version": VERSION,
            "clock_ahead_seconds": (state.clock.now() - datetime.now(UTC)).total_seconds(),
            "workspaces": [asdict(w) for w in state.workspaces.values()],
            "tokens": {
                t: {"workspace_id": g.workspace_id, "scopes": list(g.scopes)}
                for t, g in state.tokens.items()
            },
            "models": list(state.models.values()),
            "leaderboards": list(state.leaderboards.values()),
            "base_models": list(state.base_models),
            "runs": [
                {**asdict(r), "created_at": r.created_at.isoformat()} for r in state.runs.values()
            ],
            "next_outcomes": [list(o) for o in state.next_outcomes],
        }


def save(state: SandboxState, path: Path) -> None:
    text = json.dumps(world(state), separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with _write_lock:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".sandbox-", suffix=".json")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:  # whatever stopped the write (even Ctrl-C), no stray file is left
            Path(temporary).unlink(missing_ok=True)
            raise


def load(state: SandboxState, path: Path) -> bool:
    """Put the world kept at ``path`` into ``state``; False (and nothing changed) when there is
    none or it cannot be read."""
    try:
        kept = json.loads(path.read_text())
        if kept.get("version") != VERSION:
            return False
        workspaces = {w["id"]: Workspace(**w) for w in kept["workspaces"]}
        tokens = {
            t: TokenGrant(g["workspace_id"], tuple(g["scopes"])) for t, g in kept["tokens"].items()
        }
        runs = {}
        for fields in kept["runs"]:
            fields = {**fields, "created_at": datetime.fromisoformat(fields["created_at"])}
            runs[fields["id"]] = SandboxRun(**fields)
        models = {m["id"]: m for m in kept["models"]}
        leaderboards = {b["id"]: b for b in kept["leaderboards"]}
        outcomes = [(str(o[0]), o[1]) for o in kept.get("next_outcomes", [])]
        ahead = float(kept.get("clock_ahead_seconds", 0.0))
    except (OSError, ValueError, KeyError, TypeError):
        return False
    with state.lock:
        state.workspaces, state.tokens, state.runs = workspaces, tokens, runs
        state.models, state.leaderboards = models, leaderboards
        state.base_models = list(kept["base_models"])
        state.next_outcomes = outcomes
    state.clock.run_ahead(max(0.0, ahead))
    return True
