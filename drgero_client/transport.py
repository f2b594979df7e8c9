"""The transport under ``DrGeroClient``: sessions, one attempt at a call, and the mapping of
what came back (or did not) to the client's error tree, with no token anywhere in it."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests

from drgero_client.errors import (
    APIError,
    DrGeroConnectionError,
    DrGeroError,
    DrGeroTimeoutError,
    InvalidResponseError,
    RateLimitError,
    error_class_for,
)


def new_session(pool_size: int = 20) -> requests.Session:
    """A token-free session with a connection pool, to share between clients of one thread."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Call:
    status: int
    body: Any
    headers: Any
    # A digest of the answer's bytes: equal answers have equal digests (see ``parsed_once``).
    digest: bytes = b""


# Typed values parsed from recent answers, by the answer's digest: a page of fifty models took
# longer to turn into ``Model`` values than to fetch, and the same answer comes back on every
# visit until something changes. The values are frozen; their ``raw`` mappings are Dr.Gero's
# JSON as it came and are to be read, not changed. Bounded, the oldest dropped first.
_PARSED: OrderedDict[Hashable, Any] = OrderedDict()
_PARSED_KEPT = 64
_parsed_lock = threading.Lock()
P = TypeVar("P")


def parsed_once(key: Hashable, parse: Callable[[], P]) -> P:
    """``parse()`` for an answer, or its value from the last time the same answer came (``key``
    holds the answer's digest and what was asked). Nothing is kept without a digest."""
    if not isinstance(key, tuple) or not key[1]:
        return parse()
    with _parsed_lock:
        if key in _PARSED:
            _PARSED.move_to_end(key)
            found: P = _PARSED[key]
            return found
    value = parse()  # a failure to parse is raised each time, never kept
    with _parsed_lock:
        _PARSED[key] = value
        while len(_PARSED) > _PARSED_KEPT:
            _PARSED.popitem(last=False)
    return value


def send(
    session: requests.Session,
    timeout: tuple[float, float],
    method: str,
    url: str,
    headers: dict[str, str],
    params: dict[str, Any] | None,
    data: bytes | None,
    idempotent: bool,
    left: float,
) -> Call:
    """One attempt: the answer as (status, JSON body, headers), or a token-free error."""
    connect, read = timeout
    try:
        response = session.request(
            method,
            url,
            headers=headers,
            params=params,
            data=data,
            timeout=(min(connect, left), min(read, left)),
            allow_redirects=idempotent,
        )
    except requests.exceptions.ConnectTimeout as exc:
        raise DrGeroTimeoutError(
            "Dr.Gero could not be reached in time", request_sent=False
        ) from chain(exc)
    except requests.exceptions.ReadTimeout as exc:
        raise DrGeroTimeoutError("Dr.Gero did not answer in time", request_sent=True) from chain(
            exc
        )
    except requests.exceptions.ConnectionError as exc:
        sent = not never_connected(exc)
        raise DrGeroConnectionError(
            "The connection to Dr.Gero failed", request_sent=sent
        ) from chain(exc)
    except requests.exceptions.RequestException as exc:
        raise DrGeroConnectionError("The request to Dr.Gero failed", request_sent=True) from chain(
            exc
        )
    raw = response.content
    body: Any = None
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            if response.status_code < 400:
                raise InvalidResponseError(
                    "Dr.Gero answered with something that is not JSON",
                    status=response.status_code,
                ) from None
            body = {"error": raw[:200].decode("utf-8", "replace")}
    digest = hashlib.blake2b(raw, digest_size=16).digest()
    return Call(response.status_code, body, response.headers, digest)


def chain(exc: BaseException) -> DrGeroError:
    """A token-free stand-in for a transport error, for ``raise … from``.

    requests' own exceptions can carry the prepared request with its Authorization header;
    chaining a plain summary keeps the cause readable without keeping the token.
    """
    return DrGeroError(f"{type(exc).__name__}: {describe(exc)}")


def describe(exc: BaseException) -> str:
    reason = exc.args[0] if exc.args else ""
    text = str(getattr(reason, "reason", reason) or type(exc).__name__)
    return text[:200]


def never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    text = repr(exc.args)
    return any(
        marker in text
        for marker in ("NewConnectionError", "Connection refused", "NameResolutionError")
    )


def api_error(call: Call) -> APIError:
    body = call.body if isinstance(call.body, dict) else {}
    message = body.get("error") or body.get("message") or body.get("detail")
    if isinstance(message, dict):
        message = message.get("message")
    if not isinstance(message, str) or not message:
        message = f"Dr.Gero answered {call.status}"
    code = body.get("code")
    details = body.get("details")
    request_id = (
        call.headers.get("X-Request-Id")
        or call.headers.get("X-Request-ID")
        or body.get("request_id")
        or body.get("requestId")
    )
    cls = error_class_for(call.status)
    kwargs: dict[str, Any] = {
        "status": call.status,
        "code": code if isinstance(code, str) else None,
        "details": details if isinstance(details, dict) else {},
        "request_id": request_id if isinstance(request_id, str) else None,
    }
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after(call.headers), **kwargs)
    return cls(message, **kwargs)


def retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
