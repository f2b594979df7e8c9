"""The sandbox's WSGI application: Dr.Gero's documented endpoints, errors and a control API."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from drgero_client.sandbox.control import control_action
from drgero_client.sandbox.seed import seed
from drgero_client.sandbox.state import (
    Fault,
    SandboxState,
    SeenRequest,
    TokenGrant,
    iso,
    public_model,
)
from drgero_client.sandbox.validation import HttpError, model_fields, run_request

MAX_BODY = 256 * 1024
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
StartResponse = Callable[..., Any]


Query = dict[str, list[str]]  # a parsed query string


class DropConnection(Exception):  # noqa: N818  (a signal to the server, not an error)
    """Raised to make the server close the connection without answering."""


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

    def __init__(
        self,
        state: SandboxState | None = None,
        *,
        seed_name: str = "demo",
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.state = state or SandboxState()
        seed(self.state, seed_name)
        # Called after each change to the world (a write that succeeded, a reset, the clock).
        self.on_change = on_change
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

    # WSGI entry.

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "") or "/"
        request_id = f"req_{uuid.uuid4().hex[:16]}"
        if path.startswith(CONTROL_PREFIX):
            status, body, headers = self.control(method, path, environ)
            if method != "GET" and status < 400:
                self._changed()
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
        if method != "GET" and status < 400:
            self._changed()
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

    # Helpers.

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

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

    # Endpoints.

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
        fields = model_fields(self.state, grant, body, creating=True)
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
        fields = model_fields(self.state, grant, body, creating=False, current_cadence=current)
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
        request = run_request(body)
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

    # Responses.

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

    # The control API (unauthenticated: loopback only).

    def control(
        self, method: str, path: str, environ: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        action = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            raw = self._read_body(environ)
            body = json.loads(raw) if raw.strip() else {}
        except (HttpError, ValueError):
            return 400, {"error": "bad control body"}, {}
        return control_action(self.state, method, action, body)
