"""The sandbox's WSGI application: Dr.Gero's documented endpoints, errors and a control API."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from drgero_client.sandbox.seed import seed
from drgero_client.sandbox.state import (
    ALGORITHMS,
    CADENCES,
    Fault,
    SandboxState,
    SeenRequest,
    TokenGrant,
    iso,
    public_model,
)

MAX_BODY = 256 * 1024
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
CONTROL_PREFIX = "/__sandbox__/"

# camelCase aliases the documentation names "such as"; the sandbox accepts these.
ALIASES = {
    "modelName": "name",
    "leaderboardIds": "leaderboard_ids",
    "creationMode": "creation_mode",
    "autoUpdateModel": "auto_update_model",
    "continuousSelfLearning": "continuous_self_learning",
    "hypertuningParameters": "hypertuning_parameters",
    "fineTuneSchedule": "fine_tune_schedule",
}
BOOLEAN_FIELDS = ("auto_update_model", "continuous_self_learning", "hypertuning_parameters")
CREATION_MODES = ("auto", "manual")

StartResponse = Callable[..., Any]


Query = dict[str, list[str]]  # a parsed query string


class DropConnection(Exception):  # noqa: N818  (a signal to the server, not an error)
    """Raised to make the server close the connection without answering."""


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


REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class SandboxApp:
    """A WSGI callable; ``state`` is open to in-process tests."""

    def __init__(self, state: SandboxState | None = None, *, seed_name: str = "demo") -> None:
        self.state = state or SandboxState()
        seed(self.state, seed_name)
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = []
        for method, pattern, handler in (
            ("GET", r"/healthz", self.healthz),
            ("GET", r"/readyz", self.healthz),
            ("GET", r"/api/models", self.list_models),
            ("POST", r"/api/models", self.create_model),
            ("GET", r"/api/models/(?P<mid>[^/]+)", self.get_model),
            ("PATCH", r"/api/models/(?P<mid>[^/]+)", self.update_model),
            ("DELETE", r"/api/models/(?P<mid>[^/]+)", self.delete_model),
            ("GET", r"/api/base-models", self.list_base_models),
            ("GET", r"/api/models/(?P<mid>[^/]+)/leaderboards", self.model_leaderboards),
            ("GET", r"/api/models/(?P<mid>[^/]+)/fine-tune/runs", self.list_runs),
            ("POST", r"/api/models/(?P<mid>[^/]+)/fine-tune/run", self.start_run),
            ("POST", r"/api/models/(?P<mid>[^/]+)/fine-tune/sync", self.sync_runs),
            ("GET", r"/api/leaderboards", self.list_leaderboards),
        ):
            self.routes.append((method, re.compile(pattern + "/?$"), handler))

    # -- WSGI entry -----------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "") or "/"
        request_id = f"req_{uuid.uuid4().hex[:16]}"
        if path.startswith(CONTROL_PREFIX):
            status, body, headers = self.control(method, path, environ)
            return self._respond(start_response, status, body, headers, request_id)
        try:
            raw = self._read_body(environ)
        except HttpError as exc:
            return self._error(start_response, exc, request_id)
        auth = environ.get("HTTP_AUTHORIZATION", "")
        self.state.record(
            SeenRequest(method, path, environ.get("QUERY_STRING", ""), raw, auth.split(" ")[0])
        )
        if self.state.latency_ms:
            with self.state.in_flight():  # how many requests wait here at once, for tests
                time.sleep(self.state.latency_ms / 1000)
        fault = self.state.take_fault(method, path)
        if fault and not fault.apply:
            return self._fault(start_response, fault, request_id, None)
        try:
            status, body = self.dispatch(method, path, environ, raw)
        except HttpError as exc:
            if fault:
                return self._fault(start_response, fault, request_id, None)
            return self._error(start_response, exc, request_id)
        if fault:
            return self._fault(start_response, fault, request_id, (status, body))
        return self._respond(start_response, status, body, {}, request_id)

    def dispatch(
        self, method: str, path: str, environ: dict[str, Any], raw: bytes
    ) -> tuple[int, Any]:
        allowed = []
        for route_method, pattern, handler in self.routes:
            match = pattern.match(path)
            if not match:
                continue
            if route_method != method:
                allowed.append(route_method)
                continue
            if handler == self.healthz:
                return self.healthz()
            grant = self._authenticate(environ)
            query = parse_qs(environ.get("QUERY_STRING", ""))
            kwargs = match.groupdict()
            answer: tuple[int, Any] = handler(grant=grant, query=query, raw=raw, **kwargs)
            return answer
        if allowed:
            raise HttpError(405, "Method not allowed", "method_not_allowed")
        raise HttpError(404, "Not found", "not_found")

    # -- helpers --------------------------------------------------------------------------

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            raise HttpError(
                413, "Request body too large", "payload_too_large", {"max_bytes": MAX_BODY}
            )
        return environ["wsgi.input"].read(length) if length else b""

    def _authenticate(self, environ: dict[str, Any]) -> TokenGrant:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        token = ""
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        token = (
            token
            or environ.get("HTTP_X_API_KEY", "")
            or environ.get("HTTP_X_DR.GERO_API_KEY", "")
            or environ.get("HTTP_X_DR_GERO_API_KEY", "")
        )
        if not token:
            raise HttpError(401, "Missing API token", "unauthorized")
        grant = self.state.tokens.get(token)
        if grant is None:
            raise HttpError(401, "Invalid or expired API token", "invalid_token")
        return grant

    @staticmethod
    def _need(grant: TokenGrant, scope: str, *alternatives: str) -> None:
        if grant.allows(scope) or any(grant.allows(a) for a in alternatives):
            return
        raise HttpError(
            403,
            f"This token lacks the {scope} scope",
            "insufficient_scope",
            {"required_scope": scope},
        )

    @staticmethod
    def _json(raw: bytes, *, required: bool = True) -> dict[str, Any]:
        if not raw.strip():
            if required:
                raise HttpError(400, "A JSON body is required", "invalid_body")
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise HttpError(400, "Malformed JSON body", "invalid_json") from exc
        if not isinstance(body, dict):
            raise HttpError(400, "The JSON body must be an object", "invalid_body")
        return {ALIASES.get(k) or k: v for k, v in body.items()}

    def _model(self, grant: TokenGrant, mid: str) -> dict[str, Any]:
        model = self.state.models.get(mid)
        if model is None or model["_workspace"] != grant.workspace_id:
            raise HttpError(404, "Model not found", "model_not_found")
        return model

    @staticmethod
    def _paging(query: Query) -> tuple[int, int]:
        try:
            limit = int(query.get("limit", ["50"])[0])
            offset = int(query.get("offset", ["0"])[0])
        except ValueError as exc:
            raise HttpError(400, "limit and offset must be integers", "invalid_parameter") from exc
        if not 1 <= limit <= 100 or offset < 0:
            raise HttpError(
                400,
                "limit must be 1-100 and offset 0 or more",
                "invalid_parameter",
                {"limit": "1..100", "offset": ">= 0"},
            )
        return limit, offset

    # -- endpoints ------------------------------------------------------------------------

    def healthz(self) -> tuple[int, Any]:
        return 200, {"status": "ok"}

    def list_models(self, *, grant: TokenGrant, query: Query, raw: bytes) -> tuple[int, Any]:
        self._need(grant, "models:read")
        limit, offset = self._paging(query)
        with self.state.lock:
            mine = [m for m in self.state.models.values() if m["_workspace"] == grant.workspace_id]
        mine.sort(key=lambda m: m["created_at"], reverse=True)
        page = [public_model(m) for m in mine[offset : offset + limit]]
        return 200, {"models": page, "total": len(mine), "limit": limit, "offset": offset}

    def create_model(self, *, grant: TokenGrant, query: Query, raw: bytes) -> tuple[int, Any]:
        self._need(grant, "models:write")
        body = self._json(raw)
        fields = self._model_fields(grant, body, creating=True)
        model = self.state.add_model(grant.workspace_id, **fields)
        return 201, {"model": model}

    def get_model(
        self, *, grant: TokenGrant, query: Query, raw: bytes, mid: str
    ) -> tuple[int, Any]:
        self._need(grant, "models:read")
        return 200, {"model": public_model(self._model(grant, mid))}

    def update_model(
        self, *, grant: TokenGrant, query: Query, raw: bytes, mid: str
    ) -> tuple[int, Any]:
        self._need(grant, "models:write")
        model = self._model(grant, mid)
        body = self._json(raw)
        current = (model.get("fine_tune_schedule") or {}).get("run", {}).get("type")
        fields = self._model_fields(grant, body, creating=False, current_cadence=current)
        if "fine_tune_schedule" in fields:
            plan = self.state.workspaces[grant.workspace_id].plan
            if plan == "free":
                raise HttpError(
                    402,
                    "Scheduled fine-tuning requires a paid plan",
                    "plan_required",
                    {"feature": "fine_tune_schedule", "plan": plan},
                )
        with self.state.lock:
            model.update(fields)
            model["updated_at"] = iso(self.state.clock.now())
        return 200, {"model": public_model(model)}

    def delete_model(
        self, *, grant: TokenGrant, query: Query, raw: bytes, mid: str
    ) -> tuple[int, Any]:
        self._need(grant, "models:write")
        self._model(grant, mid)
        with self.state.lock:
            del self.state.models[mid]
        return 200, {"deleted": True, "id": mid}

    def list_base_models(self, *, grant: TokenGrant, query: Query, raw: bytes) -> tuple[int, Any]:
        self._need(grant, "models:read")
        return 200, {"base_models": list(self.state.base_models)}

    def model_leaderboards(
        self, *, grant: TokenGrant, query: Query, raw: bytes, mid: str
    ) -> tuple[int, Any]:
        self._need(grant, "models:read")
        model = self._model(grant, mid)
        boards = [
            {k: v for k, v in self.state.leaderboards[b].items() if not k.startswith("_")}
            for b in model["leaderboard_ids"]
            if b in self.state.leaderboards
        ]
        return 200, {"leaderboards": boards}

    def list_leaderboards(self, *, grant: TokenGrant, query: Query, raw: bytes) -> tuple[int, Any]:
        self._need(grant, "leaderboards:read")
        limit, offset = self._paging(query)
        mine = [
            {k: v for k, v in b.items() if not k.startswith("_")}
            for b in self.state.leaderboards.values()
            if b["_workspace"] == grant.workspace_id
        ]
        return 200, {"leaderboards": mine[offset : offset + limit], "total": len(mine)}

    def list_runs(
        self, *, grant: TokenGrant, query: Query, raw: bytes, mid: str
    ) -> tuple[int, Any]:
        self._need(grant, "models:read", "models:fine-tune")
        self._model(grant, mid)
        now = self.state.clock.now()
        return 200, {"runs": [r.to_api(now) for r in self.state.model_runs(mid)]}

    def start_run(
        self, *, grant: TokenGrant, query: Query, raw: bytes, mid: str
    ) -> tuple[int, Any]:
        self._need(grant, "models:fine-tune")
        self._model(grant, mid)
        body = self._json(raw)
        request = self._run_request(body)
        with self.state.lock:
            active = self.state.active_run(mid)
            if active is not None:
                raise HttpError(
                    409,
                    "A fine-tune run is already active for this model",
                    "run_active",
                    {"run_id": active.id},
                )
            outcome, error = ("SUCCEEDED", None)
            if self.state.next_outcomes:
                outcome, error = self.state.next_outcomes.pop(0)
            run = self.state.add_run(mid, request=request, outcome=outcome, error=error)
        return 201, {"run": run.to_api(self.state.clock.now())}

    def sync_runs(
        self, *, grant: TokenGrant, query: Query, raw: bytes, mid: str
    ) -> tuple[int, Any]:
        self._need(grant, "models:fine-tune")
        self._model(grant, mid)
        body = self._json(raw, required=False)
        now = self.state.clock.now()
        run_id = body.get("run_id") or body.get("runId")
        if run_id is not None:
            run = self.state.runs.get(str(run_id))
            if run is None or run.model_id != mid:
                raise HttpError(404, "Run not found", "run_not_found")
            return 200, {"run": run.to_api(now), "synced_at": iso(now)}
        runs = [r.to_api(now) for r in self.state.model_runs(mid)]
        return 200, {"runs": runs, "synced_at": iso(now)}

    # -- validation -----------------------------------------------------------------------

    def _model_fields(
        self,
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
                    and self.state.leaderboards.get(i, {}).get("_workspace") != grant.workspace_id
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
                problem = _schedule_problem(schedule, keep=current_cadence)
                if problem:
                    errors["fine_tune_schedule"] = problem
                else:
                    fields["fine_tune_schedule"] = schedule
        if errors:
            raise HttpError(400, "Invalid model fields", "validation_error", errors)
        return fields

    @staticmethod
    def _run_request(body: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        dataset = body.get("dataset_size", body.get("datasetSize"))
        problem = _dataset_problem(dataset) if dataset is not None else None
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

    # -- responses ------------------------------------------------------------------------

    def _respond(
        self,
        start_response: StartResponse,
        status: int,
        body: Any,
        headers: dict[str, str],
        request_id: str,
    ) -> list[bytes]:
        if body is None:
            payload = b""
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body).encode()
        header_list = [("X-Request-Id", request_id), ("Content-Length", str(len(payload)))]
        if body is not None and not isinstance(body, bytes):
            header_list.append(("Content-Type", "application/json"))
        header_list.extend(headers.items())
        start_response(f"{status} {REASONS.get(status, 'Status')}", header_list)
        return [payload]

    def _error(self, start_response: StartResponse, exc: HttpError, request_id: str) -> list[bytes]:
        body = {"error": exc.message, "code": exc.code, "details": exc.details}
        return self._respond(start_response, exc.status, body, exc.headers, request_id)

    def _fault(
        self,
        start_response: StartResponse,
        fault: Fault,
        request_id: str,
        real: tuple[int, Any] | None,
    ) -> list[bytes]:
        if fault.kind == "drop":
            raise DropConnection
        if fault.kind == "delay":
            time.sleep(fault.delay_s)
            if real is not None:
                return self._respond(start_response, real[0], real[1], {}, request_id)
            return self._respond(start_response, 200, {"status": "late"}, {}, request_id)
        if fault.kind == "nonjson":
            headers = {"Content-Type": "text/html"}
            return self._respond(
                start_response,
                200,
                b"<html><body>Upstream proxy page</body></html>",
                headers,
                request_id,
            )
        body = fault.body
        if body is None:
            body = {"error": f"Injected fault {fault.status}", "code": "sandbox_fault"}
        if isinstance(body, str):
            body = body.encode()
        return self._respond(start_response, fault.status, body, dict(fault.headers), request_id)

    # -- the control API (unauthenticated: loopback only) -----------------------------------

    def control(
        self, method: str, path: str, environ: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        action = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            raw = self._read_body(environ)
            body = json.loads(raw) if raw.strip() else {}
        except (HttpError, ValueError):
            return 400, {"error": "bad control body"}, {}
        state = self.state
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


def _dataset_problem(dataset: Any) -> str | None:
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


def _schedule_problem(schedule: Any, keep: str | None = None) -> str | None:
    """Documented cadences only, except the one the model already has (Dr.Gero's own value)."""
    if not isinstance(schedule, dict):
        return "Must be an object or null"
    run = schedule.get("run")
    allowed = (*CADENCES, keep) if keep else CADENCES
    if not isinstance(run, dict) or run.get("type") not in allowed:
        return f"run.type must be one of {', '.join(CADENCES)}"
    if "dataset" in schedule:
        return _dataset_problem(schedule["dataset"])
    return None
