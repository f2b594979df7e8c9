"""The one rule for dual-render views: a partial for htmx swaps, the whole page otherwise."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from console.htmx import wants_partial


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


def as_query_dict(values: dict[str, str]) -> QueryDict:
    """Filters as a ``QueryDict``, for Django's ``{% querystring %}`` to build links from."""
    query = QueryDict(mutable=True)
    query.update(values)
    return query


def stop_polling(response: HttpResponse) -> HttpResponse:
    """The same answer with htmx's "stop polling" status (286): the last swap, then quiet."""
    stop = HttpResponseStopPolling(response.content)
    stop["Content-Type"] = response["Content-Type"]
    return stop


def page_number(request: HttpRequest) -> int:
    """``?page=`` as a page number: 1 when missing, not a number, or below 1."""
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1
