"""The one client-address rule, shared by the lock-out and the audit log."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The connecting address; behind a proxy, ``X-Real-IP`` (which the proxy overwrites).

    ``X-Forwarded-For`` is never read: a client can append anything to it, so trusting it
    would let anyone evade the lock-out or lock out someone else.
    """
    if settings.CONSOLE_BEHIND_PROXY:
        raw = request.META.get("HTTP_X_REAL_IP", "")
    else:
        raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104  (a placeholder value, never bound to)


def client_ip_for_axes(request: HttpRequest) -> str:
    """Axes stores the address in an IP column, which PostgreSQL validates: a request with no
    usable address (no X-Real-IP behind the proxy) is recorded as 0.0.0.0."""
    return client_ip(request) or UNKNOWN_ADDRESS


def axes_skips(request: HttpRequest | None, credentials: dict[str, Any] | None) -> bool:
    """Lock-out counts password guesses only. A sign-in the identity provider vouched for and
    the console refused carries no username and guesses nothing (the provider checked the
    password), so counting it would lock a whole office's address out of the provider."""
    return not (credentials or {}).get("username")
