"""``DrGeroClient``: one instance per user token over a shared, token-free requests session."""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from drgero_client.errors import (
    APIError,
    DrGeroConnectionError,
    DrGeroTimeoutError,
    RateLimitError,
)
from drgero_client.transport import (
    Call,
    api_error,
    is_loopback_host,
    new_session,
    parsed_once,
    send,
)
from drgero_client.types import (
    LIST_KEYS,
    BaseModel,
    DatasetSize,
    Leaderboard,
    Model,
    Page,
    Run,
    Schedule,
    parse_list,
    unwrap_list,
    unwrap_object,
)

__all__ = ["DrGeroClient", "is_loopback_host", "new_session"]

logger = logging.getLogger("drgero_client")

USER_AGENT = "drgero-console/0.1 (+drgero_client)"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "description",
        "leaderboard_ids",
        "creation_mode",
        "auto_update_model",
        "continuous_self_learning",
        "hypertuning_parameters",
    }
)
_UNSET: Any = object()


class DrGeroClient:
    """A client for the Dr.Gero Models API, acting with one token.

    Args:
        base_url: Dr.Gero's address; ``https://``, or ``http://`` only for a loopback host.
        token: the user's ``drgero_…`` API token. It goes on each request's headers and
            never onto the session, into ``repr``, an exception or a log record.
        timeout: (connect, read) seconds for each attempt.
        max_retries: how many times an idempotent read is retried on a transient failure.
        session: a shared, token-free ``requests.Session`` for pooled connections.
        backoff_base: the first retry's delay in seconds; it doubles each time, with jitter.
        retry_after_cap: the longest ``Retry-After`` waited for; a longer one raises at once.
        total_budget: the most seconds one call may take, retries included.
        deadline: a ``time.monotonic()`` moment no call may outlast, retries and waits
            included (a web page's budget for all its calls); None for none.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: tuple[float, float] = (5.0, 20.0),
        max_retries: int = 2,
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
        retry_after_cap: float = 5.0,
        total_budget: float | None = None,
        deadline: float | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("base_url must be an absolute http(s) URL")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("plain http is allowed only for a loopback host; use https")
        if not token or not isinstance(token, str):
            raise ValueError("a Dr.Gero token is required")
        self.base_url = base_url.rstrip("/")
        self.__token = token
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.retry_after_cap = retry_after_cap
        self.total_budget = total_budget or (
            (timeout[0] + timeout[1]) * (self.max_retries + 1) + retry_after_cap
        )
        self.deadline = deadline
        self._session = session or new_session()

    def bound_to(self, session: requests.Session) -> DrGeroClient:
        """The same client over another session (for example, another thread's pool)."""
        twin = copy.copy(self)
        twin._session = session
        return twin

    def __repr__(self) -> str:
        return f"DrGeroClient(base_url={self.base_url!r}, token='***')"

    __str__ = __repr__

    # Models.

    def list_models(self, *, limit: int = 50, offset: int = 0) -> Page[Model]:
        """One page of the workspace's models.

        Returns:
            A ``Page`` of ``Model``; ``total`` is set when Dr.Gero gives it.
        Raises:
            DrGeroError: any failure (see ``drgero_client.errors``).
        """
        call = self._request("GET", "/api/models", params={"limit": limit, "offset": offset})

        def parse() -> Page[Model]:
            items, total = unwrap_list(call.body)
            return Page(parse_list(items, Model.from_api), total, limit, offset, call.digest)

        return parsed_once(("models", call.digest, limit, offset), parse)

    def iter_models(self, *, page_size: int = 50, max_items: int | None = None) -> Iterator[Model]:
        """Every model, fetched page by page; stops after ``max_items`` when given."""
        yield from self._iterate(self.list_models, page_size, max_items)

    def create_model(
        self,
        *,
        name: str,
        description: str | None = None,
        leaderboard_ids: list[str] | tuple[str, ...] | None = None,
        creation_mode: str | None = "auto",
        auto_update_model: bool | None = None,
        continuous_self_learning: bool | None = None,
        hypertuning_parameters: bool | None = None,
    ) -> Model:
        """Create a model (``POST /api/models``, needs ``models:write``). Never retried."""
        payload: dict[str, Any] = {"name": name}
        optional = {
            "description": description,
            "leaderboard_ids": list(leaderboard_ids) if leaderboard_ids is not None else None,
            "creation_mode": creation_mode,
            "auto_update_model": auto_update_model,
            "continuous_self_learning": continuous_self_learning,
            "hypertuning_parameters": hypertuning_parameters,
        }
        payload.update({k: v for k, v in optional.items() if v is not None})
        body = self._request("POST", "/api/models", json_body=payload).body
        return Model.from_api(unwrap_object(body, "model"))

    def get_model(self, model_id: str) -> Model:
        """One model by id. Raises ``NotFoundError`` for an id outside the token's workspace."""
        body = self._request("GET", "/api/models/{id}", path_args=(model_id,)).body
        return Model.from_api(unwrap_object(body, "model"))

    def update_model(self, model_id: str, **fields: Any) -> Model | None:
        """PATCH only the fields given (snake_case names). Never retried.

        Returns:
            The updated model, or None when Dr.Gero answers with an empty body.
        """
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"not an updatable model field: {', '.join(sorted(unknown))}")
        if "leaderboard_ids" in fields:
            fields["leaderboard_ids"] = list(fields["leaderboard_ids"])
        return self._patch_model(model_id, fields)

    def delete_model(self, model_id: str) -> None:
        """Delete a model for the whole workspace. Never retried."""
        self._request("DELETE", "/api/models/{id}", path_args=(model_id,))

    def set_schedule(self, model_id: str, schedule: Schedule | None) -> Model | None:
        """Set ``fine_tune_schedule``, or clear it with None (sends ``null``). Never retried."""
        value = schedule.to_api() if schedule is not None else None
        return self._patch_model(model_id, {"fine_tune_schedule": value})

    def _patch_model(self, model_id: str, payload: dict[str, Any]) -> Model | None:
        body = self._request(
            "PATCH", "/api/models/{id}", path_args=(model_id,), json_body=payload
        ).body
        if body is None:
            return None
        return Model.from_api(unwrap_object(body, "model"))

    # Base models and leaderboards.

    def list_base_models(self) -> list[BaseModel]:
        """The base models a fine-tune can start from."""
        items, _ = unwrap_list(self._request("GET", "/api/base-models").body)
        return list(parse_list(items, BaseModel.from_api))

    def list_model_leaderboards(self, model_id: str) -> list[Leaderboard]:
        """The leaderboards assigned to a model."""
        body = self._request("GET", "/api/models/{id}/leaderboards", path_args=(model_id,)).body
        items, _ = unwrap_list(body)
        return list(parse_list(items, Leaderboard.from_api))

    def list_leaderboards(self, *, limit: int = 50, offset: int = 0) -> Page[Leaderboard]:
        """One page of leaderboards (needs ``leaderboards:read``)."""
        body = self._request(
            "GET", "/api/leaderboards", params={"limit": limit, "offset": offset}
        ).body
        items, total = unwrap_list(body)
        return Page(parse_list(items, Leaderboard.from_api), total, limit, offset)

    def iter_leaderboards(
        self, *, page_size: int = 50, max_items: int | None = None
    ) -> Iterator[Leaderboard]:
        """Every leaderboard, page by page."""
        yield from self._iterate(self.list_leaderboards, page_size, max_items)

    # Fine-tune runs.

    def list_runs(self, model_id: str) -> list[Run]:
        """A model's fine-tune runs, as Dr.Gero reports them now."""
        return self.list_runs_complete(model_id)[0]

    def list_runs_complete(self, model_id: str) -> tuple[list[Run], bool]:
        """A model's runs, and whether the answer holds all of them.

        The list endpoint's paging is not documented: an answer whose ``total`` says there are
        more runs than it holds is incomplete, and nothing may be concluded from a run missing
        from it.
        """
        body = self._request("GET", "/api/models/{id}/fine-tune/runs", path_args=(model_id,)).body
        items, total = unwrap_list(body)
        runs = list(parse_list(items, Run.from_api))
        return runs, total is None or total <= len(items)

    def start_run(
        self,
        model_id: str,
        *,
        dataset_size: DatasetSize,
        create_synthetic_data: bool,
        hypertuning_enabled: bool,
    ) -> Run | None:
        """Start a fine-tune run (needs ``models:fine-tune``). Sent once, never retried.

        Returns:
            The new run when Dr.Gero describes it, else None.
        Raises:
            DrGeroTimeoutError: with ``request_sent=True`` the run may have started.
        """
        payload = {
            "dataset_size": dataset_size.to_api(),
            "create_synthetic_data": create_synthetic_data,
            "hypertuning_enabled": hypertuning_enabled,
        }
        body = self._request(
            "POST", "/api/models/{id}/fine-tune/run", path_args=(model_id,), json_body=payload
        ).body
        return _optional_run(body)

    def sync_runs(self, model_id: str, *, run_id: str | None = None) -> list[Run]:
        """Ask Dr.Gero to refresh run state, for all runs or one; returns what it reports."""
        payload = {"run_id": run_id} if run_id else {}
        body = self._request(
            "POST", "/api/models/{id}/fine-tune/sync", path_args=(model_id,), json_body=payload
        ).body
        if body is None:
            return []
        if isinstance(body, list) or (isinstance(body, dict) and _has_list(body)):
            items, _ = unwrap_list(body)
            return list(parse_list(items, Run.from_api))
        single = _optional_run(body)
        return [single] if single else []

    # Health.

    def health(self) -> bool:
        """True when ``/healthz`` answers 2xx."""
        self._request("GET", "/healthz", authenticated=False)
        return True

    # The one request method.

    def _iterate(self, fetch: Any, page_size: int, max_items: int | None) -> Iterator[Any]:
        offset, seen = 0, 0
        while True:
            page = fetch(limit=page_size, offset=offset)
            for item in page.items:
                yield item
                seen += 1
                if max_items is not None and seen >= max_items:
                    return
            if not page.items or not page.has_more:
                return
            offset += len(page.items)

    def _request(
        self,
        method: str,
        template: str,
        *,
        path_args: tuple[str, ...] = (),
        params: dict[str, Any] | None = None,
        json_body: Any = _UNSET,
        authenticated: bool = True,
    ) -> Call:
        """Send one call: timeout, headers, quoted ids, retry rule, JSON parsing, error mapping.

        Retries are written here rather than with urllib3's ``Retry`` on a mounted adapter:
        the session is shared between clients and threads, a ``Retry-After`` beyond the cap
        must raise at once instead of sleeping, and writes must never be retried whatever
        adapter the caller mounted.
        """
        path = template
        if path_args:
            ident = str(path_args[0])
            if ident.strip(".") == "":
                # Quoting leaves "." and ".." as they are, and they would climb the path.
                raise ValueError("an empty id or one made of dots is not a Dr.Gero id")
            path = template.replace("{id}", quote(ident, safe=""))
        url = self.base_url + path
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if authenticated:
            headers["Authorization"] = f"Bearer {self.__token}"
        data = None
        if json_body is not _UNSET:
            headers["Content-Type"] = "application/json"
            data = json.dumps(json_body, separators=(",", ":")).encode()
        idempotent = method == "GET"
        deadline = time.monotonic() + self.total_budget
        if self.deadline is not None:
            deadline = min(deadline, self.deadline)
        attempt = 0
        started = time.monotonic()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._log(method, template, None, started, attempt)
                raise DrGeroTimeoutError("The time for calling Dr.Gero ran out", request_sent=False)
            try:
                call = send(
                    self._session,
                    self.timeout,
                    method,
                    url,
                    headers,
                    params,
                    data,
                    idempotent,
                    left,
                )
            except DrGeroConnectionError as exc:
                if idempotent and attempt < self.max_retries:
                    delay = self._backoff(attempt)
                    if time.monotonic() + delay < deadline:
                        attempt += 1
                        time.sleep(delay)
                        continue
                self._log(method, template, None, started, attempt)
                raise exc
            if call.status < 400:
                self._log(method, template, call.status, started, attempt)
                return call
            error = api_error(call)
            if idempotent and call.status in RETRY_STATUSES and attempt < self.max_retries:
                retry_delay = self._retry_delay(error, attempt)
                if retry_delay is not None and time.monotonic() + retry_delay < deadline:
                    attempt += 1
                    time.sleep(retry_delay)
                    continue
            self._log(method, template, call.status, started, attempt)
            raise error

    def _backoff(self, attempt: int) -> float:
        # Full jitter keeps many console processes from retrying in step.
        return random.uniform(0, self.backoff_base * (2**attempt))  # noqa: S311

    def _retry_delay(self, error: APIError, attempt: int) -> float | None:
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            if error.retry_after > self.retry_after_cap:
                return None
            return error.retry_after
        return self._backoff(attempt)

    def _log(
        self, method: str, template: str, status: int | None, started: float, retries: int
    ) -> None:
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        logger.info(
            "drgero %s %s -> %s in %sms (%s retries)",
            method,
            template,
            status if status is not None else "no answer",
            duration_ms,
            retries,
            extra={
                "method": method,
                "path": template,
                "status": status,
                "duration_ms": duration_ms,
                "retries": retries,
            },
        )


def _has_list(body: dict[str, Any]) -> bool:
    return any(isinstance(body.get(k), list) for k in LIST_KEYS)


def _optional_run(body: Any) -> Run | None:
    inner = unwrap_object(body, "run")
    if isinstance(inner, dict) and any(k in inner for k in ("id", "run_id", "runId")):
        return Run.from_api(inner)
    return None
