"""The provider's routes: OAuth 2 and OpenID Connect under /o/, a log-in page, and a control
route the tests use to change a person's groups or arm a fault."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def control(request: HttpRequest) -> HttpResponse:
    """POST {"fault": "…"} or {"user": {"username": …, "groups": [...], "email": …}}."""
    body = json.loads(request.body or b"{}")
    if "fault" in body:
        (Path(settings.DATA) / "fault.json").write_text(json.dumps({"fault": body["fault"]}))
    if "user" in body:
        person(body["user"])
    return JsonResponse({"ok": True})


def person(spec: dict) -> None:
    user, _ = get_user_model().objects.get_or_create(username=spec["username"])
    user.email = spec.get("email", user.email)
    user.last_name = "unverified" if spec.get("email_verified") is False else ""
    if "password" in spec:
        user.set_password(spec["password"])
    user.save()
    if "groups" in spec:
        user.groups.set(Group.objects.get_or_create(name=g)[0] for g in spec["groups"])


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("control/", control),
]
