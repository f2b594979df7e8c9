"""A typed client for the Dr.Gero Models API, and a local sandbox that behaves like Dr.Gero.

This package imports nothing from Django.
"""

from drgero_client.client import DrGeroClient, new_session
from drgero_client.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
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
)
from drgero_client.types import (
    ALGORITHMS,
    CADENCES,
    BaseModel,
    DatasetSize,
    Leaderboard,
    Model,
    Page,
    Run,
    Schedule,
)

__all__ = [
    "ALGORITHMS",
    "CADENCES",
    "APIError",
    "AuthenticationError",
    "BaseModel",
    "ConflictError",
    "DatasetSize",
    "DrGeroClient",
    "DrGeroConnectionError",
    "DrGeroError",
    "DrGeroTimeoutError",
    "InvalidResponseError",
    "Leaderboard",
    "Model",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "Run",
    "Schedule",
    "ServerError",
    "ValidationError",
    "new_session",
]
