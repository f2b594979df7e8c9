"""The inbox: every notice a member was sent (a run of theirs ended, a check finished)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from console.htmx import HtmxHttpRequest
from console.roles import Role, requires
from console.selectors.notices import inbox_page
from console.services.notices import notices_read
from console.views.htmx import page_number, redirect_after_success


@require_GET
@requires(Role.VIEWER)
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    page = inbox_page(request.user, page=page_number(request))
    return render(request, "console/inbox.html", {"page": page})


@require_POST
@requires(Role.VIEWER)
def inbox_read(request: HtmxHttpRequest) -> HttpResponse:
    count = notices_read(request.user)
    if count:
        messages.success(request, f"Marked {count} notice{'s' if count != 1 else ''} read.")
    else:
        messages.info(request, "Everything was read already.")
    return redirect_after_success(request, reverse("console:inbox"))
