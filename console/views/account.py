"""A member's own pages: their Dr.Gero token, which emails they get, and their notices."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.forms import NotificationsForm, TokenForm
from console.htmx import HtmxHttpRequest
from console.middleware import MEMBER_THEME, MEMBER_ZONE
from console.roles import Role, requires
from console.services.notices import member_settings, member_settings_save
from console.services.tokens import (
    capability_sentences,
    token_recheck,
    token_record,
    token_remove,
    token_save,
    token_status,
)
from console.views.htmx import redirect_after_success, render_screen


def _context(request: HtmxHttpRequest, form: TokenForm, **extra: object) -> dict[str, object]:
    record = token_record(request.user)
    return {
        "form": form,
        "record": record,
        "status": token_status(request.user),
        "sentences": (
            capability_sentences({**record.capabilities, "refused": record.refused_scopes})
            if record
            else []
        ),
        **extra,
    }


@sensitive_post_parameters("token")
@sensitive_variables("token")
@require_http_methods(["GET", "POST"])
@requires(Role.VIEWER)
def token_page(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render_screen(
            request, "console/token.html", "token-form", _context(request, TokenForm())
        )
    form = TokenForm(request.POST)
    if not form.is_valid():
        return render_screen(
            request, "console/token.html", "token-form", _context(request, form), status=422
        )
    token = form.cleaned_data["token"]
    outcome = token_save(
        user=request.user, token=token, label=form.cleaned_data["label"], request=request
    )
    if outcome.problem is not None:
        # The token field comes back empty: a token is never echoed into a page.
        form = TokenForm(initial={"label": form.cleaned_data["label"]})
        return render_screen(
            request,
            "console/token.html",
            "token-form",
            _context(request, form, problem=outcome.problem),
            status=422,
        )
    messages.success(request, "Your Dr.Gero token was checked and saved.")
    return redirect_after_success(request, reverse("console:token"))


@require_POST
@requires(Role.VIEWER)
def token_recheck_view(request: HtmxHttpRequest) -> HttpResponse:
    outcome = token_recheck(user=request.user, request=request)
    if outcome.problem is not None:
        messages.error(request, outcome.problem.message)
    else:
        messages.success(request, "Your token was checked again.")
    return redirect("console:token")


@require_POST
@requires(Role.VIEWER)
def token_remove_view(request: HtmxHttpRequest) -> HttpResponse:
    if token_remove(user=request.user, request=request):
        messages.success(request, "Your Dr.Gero token was removed from the console.")
    return redirect("console:token")


@require_http_methods(["GET", "POST"])
@requires(Role.VIEWER)
def notifications_page(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        chosen = member_settings(request.user)
        form = NotificationsForm(
            initial={
                "email": request.user.email,
                "email_my_runs": chosen.email_my_runs,
                "email_team_failures": chosen.email_team_failures,
                "time_zone": chosen.time_zone,
                "theme": chosen.theme,
            }
        )
        return render(request, "console/notifications.html", {"form": form})
    form = NotificationsForm(request.POST)
    if not form.is_valid():
        return render(request, "console/notifications.html", {"form": form}, status=422)
    member_settings_save(user=request.user, **form.cleaned_data)
    request.session[MEMBER_ZONE] = form.cleaned_data["time_zone"]
    request.session[MEMBER_THEME] = form.cleaned_data["theme"]
    messages.success(request, "Your choices were saved.")
    return redirect_after_success(request, reverse("console:notifications"))


@require_GET
@requires(Role.VIEWER)
def notices_poll(request: HtmxHttpRequest) -> HttpResponse:
    """The layout's timer: NoticesMiddleware has turned new notices into toasts already."""
    request.console_background = True  # type: ignore[attr-defined]
    return HttpResponse(status=204)
