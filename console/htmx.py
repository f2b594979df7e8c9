"""What every layer may ask of a request: its htmx details, and whether htmx wants a fragment.

Views, roles and middleware share these; they import nothing of the views.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as the console's views see it: with htmx's details, and signed in
    (``requires`` refuses everyone else before a view runs)."""

    htmx: HtmxDetails
    user: User


def wants_partial(request: HttpRequest) -> bool:
    """htmx asked for a fragment: not a boosted navigation, not a history restore."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted and not htmx.history_restore_request
