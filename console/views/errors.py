"""Pages for requests the console refuses before any view runs."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

EXPIRED = "That page had expired, so nothing was changed. It was loaded again: please try again."


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A console-styled 403 (Django's own uses an inline style the CSP blocks).

    An htmx request would swap that page into a fragment; instead the page reloads and says why.
    """
    if request.headers.get("HX-Request") == "true":
        messages.error(request, EXPIRED)
        response = HttpResponse(status=403)
        response["HX-Refresh"] = "true"
        return response
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "/"
    return render(request, "csrf_failure.html", {"back": back}, status=403)
