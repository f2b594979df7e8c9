"""The client's error tree: one class per failure family, each carrying what Dr.Gero said."""

from __future__ import annotations

import re
from typing import Any

_SCOPE_IN_TEXT = re.compile(r"\b((?:models|leaderboards):[a-z*\-]+)")


class DrGeroError(Exception):
    """Base of every error the client raises. Never carries the token."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DrGeroConnectionError(DrGeroError):
    """Dr.Gero could not be reached, or the connection broke.

    ``request_sent`` is False only when the request certainly never left (the connection was
    never made); otherwise a write may have been applied.
    """

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class DrGeroTimeoutError(DrGeroConnectionError):
    """Dr.Gero did not answer in time."""


class InvalidResponseError(DrGeroError):
    """A 2xx answer whose body the client cannot use (not JSON, or not the expected shape)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class APIError(DrGeroError):
    """Dr.Gero answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details or {}
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


class ValidationError(APIError):
    """400 or 422: Dr.Gero refused the body, a parameter or an option."""

    @property
    def field_errors(self) -> dict[str, str]:
        """Field name → message, when the details name fields."""
        raw = self.details.get("fields", self.details)
        if not isinstance(raw, dict):
            return {}
        return {str(k): _as_text(v) for k, v in raw.items() if isinstance(k, str)}


class AuthenticationError(APIError):
    """401: the token is missing, invalid, expired or revoked."""


class PaymentRequiredError(APIError):
    """402: a plan or billing limit stops this action."""


class PermissionDeniedError(APIError):
    """403: the token lacks a scope, or the user a role or entitlement."""

    @property
    def missing_scope(self) -> str | None:
        for key in ("required_scope", "missing_scope", "scope"):
            value = self.details.get(key)
            if isinstance(value, str) and value:
                return value
        match = _SCOPE_IN_TEXT.search(self.message)
        return match.group(1) if match else None

    @property
    def mentions_plan(self) -> bool:
        """The refusal speaks of a plan or an entitlement rather than a scope."""
        text = f"{self.message} {self.code or ''}".lower()
        return any(word in text for word in ("plan", "entitlement", "billing", "upgrade"))


class NotFoundError(APIError):
    """404: wrong id, path or workspace."""


class ConflictError(APIError):
    """409: not ready, or a conflict such as a run already active."""


class PayloadTooLargeError(APIError):
    """413: the body is too large."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` is in seconds when Dr.Gero said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: Dr.Gero or something in front of it failed."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitError,
}


def error_class_for(status: int) -> type[APIError]:
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)
