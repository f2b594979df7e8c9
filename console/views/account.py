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
from console.selectors.team import account_email_status
from console.selectors.tokens import token_record, token_status
from console.services.emails import Confirmation, confirmation_send, confirmation_use
from console.services.member_settings import member_settings, member_settings_save
from console.services.tokens import (
    capability_sentences,
    token_recheck,
    token_remove,
    token_save,
)
from console.signin import entry, provider
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


def _settings_page(
    request: HtmxHttpRequest, form: NotificationsForm, *, status: int = 200
) -> HttpResponse:
    context = {"form": form, **account_email_status(request.user)}
    return render(request, "console/notifications.html", context, status=status)


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
        return _settings_page(request, form)
    form = NotificationsForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, form, status=422)
    before = request.user.email
    sent = member_settings_save(user=request.user, request=request, **form.cleaned_data)
    request.session[MEMBER_ZONE] = form.cleaned_data["time_zone"]
    request.session[MEMBER_THEME] = form.cleaned_data["theme"]
    if sent:
        messages.success(
            request,
            f"Your choices were saved. We sent a link to {request.user.email}: follow it to "
            "confirm the address.",
        )
    elif request.user.email and request.user.email != before:
        messages.warning(
            request,
            "Your choices were saved, but the confirmation email could not be sent just now. "
            "Send it again below in a moment.",
        )
    else:
        messages.success(request, "Your choices were saved.")
    return redirect_after_success(request, reverse("console:notifications"))


@require_POST
@requires(Role.VIEWER)
def email_confirmation_send(request: HtmxHttpRequest) -> HttpResponse:
    problem = confirmation_send(user=request.user, request=request)
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, f"We sent a new link to {request.user.email}.")
    return redirect("console:notifications")


@require_GET
@requires(Role.VIEWER)
def email_confirm(request: HtmxHttpRequest, token: str) -> HttpResponse:
    outcome = confirmation_use(user=request.user, token=token, request=request)
    if outcome is Confirmation.CONFIRMED:
        messages.success(request, outcome.value)
    else:
        messages.error(request, outcome.value)
    return redirect("console:notifications")


@require_POST
@requires(Role.VIEWER)
def account_link(request: HtmxHttpRequest) -> HttpResponse:
    """ "Link my account to <provider>": the member is signed in with their password; the
    provider sign-in that follows, in this session, links the two."""
    if not provider.enabled() or account_email_status(request.user)["linked"]:
        messages.error(request, "There is nothing to link.")
        return redirect("console:notifications")
    entry.link_intent_set(request)
    return redirect(f"{reverse('console:oidc-login')}?next={reverse('console:notifications')}")


@require_GET
@requires(Role.VIEWER)
def notices_poll(request: HtmxHttpRequest) -> HttpResponse:
    """The layout's timer: NoticesMiddleware has turned new notices into toasts already."""
    request.console_background = True  # type: ignore[attr-defined]
    return HttpResponse(status=204)
