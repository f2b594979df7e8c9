"""The sandbox's control API (unauthenticated, so loopback only): the request log, faults,
the clock, latency, a fresh seed, and the next run's outcome. Tests and benchmarks use it."""

from __future__ import annotations

from typing import Any

from drgero_client.sandbox.seed import seed
from drgero_client.sandbox.state import Fault, SandboxState, iso


def control_action(
    state: SandboxState, method: str, action: str, body: dict[str, Any]
) -> tuple[int, Any, dict[str, str]]:
    if action == "requests" and method == "GET":
        with state.lock:
            seen = [{"method": r.method, "path": r.path, "query": r.query} for r in state.seen]
        return 200, {"requests": seen}, {}
    if action == "requests" and method == "DELETE":
        with state.lock:
            state.seen.clear()
        return 204, None, {}
    if action == "faults" and method == "POST":
        allowed = set(Fault.__dataclass_fields__)
        state.arm(Fault(**{k: v for k, v in body.items() if k in allowed}))
        return 201, {"armed": len(state.faults)}, {}
    if action == "faults" and method == "DELETE":
        state.clear_faults()
        return 204, None, {}
    if action == "clock" and method == "POST":
        now = state.clock.advance(float(body.get("advance", 0)))
        return 200, {"now": iso(now)}, {}
    if action == "clock" and method == "GET":
        return 200, {"now": iso(state.clock.now())}, {}
    if action == "latency" and method == "POST":
        state.latency_ms = int(body.get("ms", 0))
        return 200, {"latency_ms": state.latency_ms}, {}
    if action == "reset" and method == "POST":
        state.clear_faults()
        with state.lock:
            state.seen.clear()
        seed(state, body.get("seed", "demo"))
        return 200, {"seed": body.get("seed", "demo")}, {}
    if action == "next-outcome" and method == "POST":
        state.set_next_outcome(body.get("outcome", "FAILED"), body.get("error"))
        return 200, {"queued": len(state.next_outcomes)}, {}
    return 404, {"error": "unknown control action"}, {}
