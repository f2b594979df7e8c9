"""The one rule for dual-render views: a partial for htmx swaps, the whole page otherwise."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django_htmx.http import HttpResponseClientRedirect
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


def render_screen(
    request: HttpRequest,
    template: str,
    partial: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HttpResponse:
    """Render ``template``, or only its named ``partial`` when htmx swaps that region."""
    name = f"{template}#{partial}" if wants_partial(request) else template
    return render(request, name, context, status=status)


def redirect_after_success(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful form: htmx is told to load ``url`` as a page; others get a 302.

    The page then shows the queued message; a swapped 302 would nest a page in a fragment.
    """
    if wants_partial(request):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)
