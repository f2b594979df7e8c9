"""The floor a signed-in page is measured against: production settings with only Django's
session and authentication middleware, and one view that reads the member and answers a plain
``HttpResponse`` (`python -m bench.profile --minimal`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from console.settings.production import *  # noqa: F403  (the same settings, fewer layers)

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "bench.minimal"
SECURE_SSL_REDIRECT = False


@login_required
def signed_in(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"signed in as {request.user.get_username()}")


urlpatterns = [path("minimal/", signed_in)]
