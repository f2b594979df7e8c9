"""Building a member's Dr.Gero client, and turning every Dr.Gero outcome into plain words."""

from __future__ import annotations

import contextvars
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

import requests
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from drgero_client import (
    AuthenticationError,
    ConflictError,
    DrGeroClient,
    DrGeroConnectionError,
    DrGeroError,
    DrGeroTimeoutError,
    InvalidResponseError,
    NotFoundError,
    PayloadTooLargeError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
    new_session,
)

_local = threading.local()
# The moment (time.monotonic) by which a web request must be done with Dr.Gero; None outside.
_page_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "drgero_page_deadline", default=None
)


@contextmanager
def page_budget(seconds: float) -> Iterator[None]:
    """Every Dr.Gero call made inside, retries and waits included, ends within ``seconds``."""
    token = _page_deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _page_deadline.reset(token)


T = TypeVar("T")


def pooled_session() -> requests.Session:
    """One token-free session per thread, so pages reuse connections to Dr.Gero.

    requests reads the proxy variables, and ~/.netrc, from the environment on every call
    while ``trust_env`` is on (a fifth of the client's time on a page). They are read once,
    here, for Dr.Gero's address, and the session is told not to look again.
    """
    session = getattr(_local, "session", None)
    if session is None:
        session = new_session()
        base = settings.DRGERO_API_BASE
        session.proxies = requests.utils.get_environ_proxies(base)
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
        _local.session = session
    return session


@sensitive_variables("token")
def build_client(token: str) -> DrGeroClient:
    return DrGeroClient(
        settings.DRGERO_API_BASE,
        token,
        timeout=settings.DRGERO_TIMEOUT,
        max_retries=settings.DRGERO_MAX_RETRIES,
        backoff_base=settings.DRGERO_BACKOFF_BASE,
        retry_after_cap=settings.DRGERO_RETRY_AFTER_CAP,
        session=pooled_session(),
        deadline=_page_deadline.get(),
    )


class ProblemKind(StrEnum):
    """What kind of failure a problem is; pages and services decide by it.

    The token kinds name situations, not secrets (hence the noqa on them).
    """

    NO_TOKEN = "no_token"  # noqa: S105  # the member has added no token yet
    TOKEN_UNREADABLE = "token_unreadable"  # noqa: S105  # saved, but cannot be decrypted
    TOKEN_REJECTED = "token_rejected"  # noqa: S105  # Dr.Gero answered 401
    PLAN = "plan"  # a paid plan is needed
    SCOPE = "scope"  # the token lacks a scope, or the member a Dr.Gero role
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INVALID = "invalid"  # Dr.Gero refused the request's values
    TOO_LARGE = "too_large"
    BUSY = "busy"  # rate limited
    UNAVAILABLE = "unavailable"  # no answer, or a 5xx
    BAD_ANSWER = "bad_answer"  # an answer the console could not read
    ERROR = "error"  # any other status
    UNKNOWN_START = "unknown_start"  # a run start Dr.Gero did not confirm


@dataclass(frozen=True)
class Problem:
    """What went wrong, in plain words, and what to do next."""

    kind: ProblemKind
    message: str
    failure_status: int  # the page's status for this failure (page_status below decides)
    drgero_status: int | None = None  # Dr.Gero's own status, when it answered
    missing_scope: str | None = None
    retry_after: int | None = None
    field_errors: dict[str, str] = field(default_factory=dict)
    nothing_changed: bool = True

    @property
    def needs_token(self) -> bool:
        """The member must add or re-enter a token: an invitation, not a Dr.Gero failure."""
        return self.kind in (ProblemKind.NO_TOKEN, ProblemKind.TOKEN_UNREADABLE)

    @property
    def page_status(self) -> int:
        """The status a page answers with: 200 for the invitation, else the failure's own."""
        return 200 if self.needs_token else self.failure_status

    @property
    def audit_outcome(self) -> str:
        """``unknown`` when a write was sent and no answer came back; else ``failed``."""
        return "unknown" if self.drgero_status is None and not self.nothing_changed else "failed"


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A service's answer: a value, or a problem — never an exception for Dr.Gero's failures."""

    value: T | None = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


# What each scope lets a member do, in words for messages.
SCOPE_WORDS = {
    "models:read": "read models",
    "models:write": "change models",
    "models:fine-tune": "start or sync fine-tune runs",
    "leaderboards:read": "list leaderboards",
}

NO_TOKEN = Problem(
    ProblemKind.NO_TOKEN,
    "You have not added your Dr.Gero token yet. Add it on My token to see and change models.",
    200,
)
TOKEN_UNREADABLE = Problem(
    ProblemKind.TOKEN_UNREADABLE,
    "Your saved Dr.Gero token can no longer be read by the console. "
    "Please enter your token again on My token.",
    200,
)


def explain(
    error: DrGeroError, *, write: bool = False, what: str = "model", scope: str | None = None
) -> Problem:
    """One mapping from a client error to a plain-language problem, used by every page.

    ``write`` says whether the call could have changed something: a timed-out write may have
    been applied, so "nothing was changed" is said only when that is certain.
    """
    status = getattr(error, "status", None)
    if isinstance(error, AuthenticationError):
        return Problem(
            ProblemKind.TOKEN_REJECTED,
            "Dr.Gero did not accept your token. It may have expired or been revoked. "
            "Enter a new one on My token.",
            403,
            status,
        )
    if isinstance(error, PaymentRequiredError) or (
        isinstance(error, PermissionDeniedError) and error.mentions_plan
    ):
        return Problem(
            ProblemKind.PLAN,
            "This needs a paid Dr.Gero plan. Nothing was changed. A Dr.Gero workspace owner or "
            "admin can change the plan.",
            403,
            status,
        )
    if isinstance(error, PermissionDeniedError):
        missing = error.missing_scope or scope
        if missing:
            words = SCOPE_WORDS.get(missing, f"do this ({missing})")
            message = (
                f"Your Dr.Gero token can't {words} (it lacks {missing}). "
                "Ask a Dr.Gero workspace admin for a token with that scope."
            )
        else:
            message = (
                "Dr.Gero refused this for your token or your Dr.Gero role. "
                "Ask a Dr.Gero workspace admin."
            )
        return Problem(ProblemKind.SCOPE, message, 403, status, missing_scope=missing)
    if isinstance(error, NotFoundError):
        return Problem(
            ProblemKind.NOT_FOUND,
            f"This {what} no longer exists in Dr.Gero — someone may have deleted it.",
            404,
            status,
        )
    if isinstance(error, ConflictError):
        return Problem(
            ProblemKind.CONFLICT,
            f"Dr.Gero can't do that right now: {error.message}. Nothing was changed.",
            409,
            status,
        )
    if isinstance(error, ValidationError):
        return Problem(
            ProblemKind.INVALID,
            f"Dr.Gero refused the request: {error.message}. Nothing was changed.",
            422,
            status,
            field_errors=error.field_errors,
        )
    if isinstance(error, PayloadTooLargeError):
        return Problem(
            ProblemKind.TOO_LARGE,
            "That is too large for Dr.Gero. Nothing was changed.",
            422,
            status,
        )
    if isinstance(error, RateLimitError):
        wait = math.ceil(error.retry_after) if error.retry_after is not None else None
        when = f"in {wait} seconds" if wait is not None else "in a minute"
        return Problem(
            ProblemKind.BUSY,
            f"Dr.Gero is busy; try again {when}. Nothing was changed.",
            503,
            status,
            retry_after=wait,
        )
    if isinstance(error, DrGeroTimeoutError | DrGeroConnectionError):
        maybe = write and error.request_sent
        return Problem(
            ProblemKind.UNAVAILABLE,
            "Dr.Gero did not answer. "
            + (
                "The change may or may not have been applied: reload to check before trying again."
                if maybe
                else "Nothing was changed; try again."
                if write
                else "Try again in a moment."
            ),
            504 if isinstance(error, DrGeroTimeoutError) else 502,
            None,
            nothing_changed=not maybe,
        )
    if isinstance(error, InvalidResponseError):
        return Problem(
            ProblemKind.BAD_ANSWER,
            "Dr.Gero answered with something the console could not read. "
            + ("Reload to check whether the change was applied." if write else "Try again."),
            502,
            error.status,
            nothing_changed=not write,
        )
    if isinstance(error, ServerError):
        # A 5xx on a write may come from a proxy after Dr.Gero applied it.
        return Problem(
            ProblemKind.UNAVAILABLE,
            "Dr.Gero did not answer properly ("
            + str(status)
            + "). "
            + (
                "The change may not have been applied: reload to check before trying again."
                if write
                else "Try again in a moment."
            ),
            502 if status != 503 else 503,
            status,
            nothing_changed=not write,
        )
    return Problem(
        ProblemKind.ERROR,
        f"Dr.Gero answered {status}: {getattr(error, 'message', '')}",
        502,
        status,
        nothing_changed=not write,
    )
