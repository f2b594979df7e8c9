"""Request plumbing every page shares: health probes, log-in for htmx, page headers, toasts."""

from __future__ import annotations

import os
import re
import time
import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import quote, unquote

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.middleware import (
    AuthenticationMiddleware,
    LoginRequiredMiddleware,
    get_user,
)
from django.contrib.auth.views import redirect_to_login
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from console.logs import reset_request_id, set_request_id
from console.views import health

Handler = Callable[[HttpRequest], HttpResponse]
PROBES: dict[str, Callable[[HttpRequest], JsonResponse]] = {
    "/healthz": health.healthz,
    "/readyz": health.readyz,
}


REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Every request gets an id, on each of its log lines and in the X-Request-ID header.

    A well-formed id from the proxy is kept, so one request can be followed across both.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        # Sixteen random bytes as hex, as uuid4().hex was (less the version bits), without
        # building a UUID object for every request.
        request_id = incoming if REQUEST_ID.match(incoming) else os.urandom(16).hex()
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request_id
        return response


class DrGeroBudgetMiddleware:
    """One deadline for all of a page's Dr.Gero calls and their retries (DRGERO_PAGE_BUDGET).

    Past it, calls fail at once as timeouts and the page renders what it has, in plain words.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from console.services.drgero import page_budget

        with page_budget(settings.DRGERO_PAGE_BUDGET):
            return self.get_response(request)


class SlidingSessionMiddleware:
    """An idle session ends after SESSION_COOKIE_AGE; activity keeps it alive.

    Django's SESSION_SAVE_EVERY_REQUEST would write the session row on every request; this
    refreshes the expiry only when it is more than a minute old, so a busy page costs no write.

    The CSRF cookie follows the same minute. Django sets it again on every page that shows a
    token, with the value the browser already holds, only to push its expiry (a year) on; a
    signed-in member's is pushed on with their session, at most once a minute. A new or
    rotated secret (a first visit, a sign-in) is always set. Placed after CsrfViewMiddleware,
    so that this runs before that middleware writes the cookie.
    """

    REFRESH_AFTER = 60

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty():
            return response
        now = int(time.time())
        if now - session.get("_console_seen", 0) <= self.REFRESH_AFTER:
            meta = request.META
            if (
                meta.get("CSRF_COOKIE_NEEDS_UPDATE")
                and not settings.CSRF_USE_SESSIONS
                and request.COOKIES.get(settings.CSRF_COOKIE_NAME) == meta.get("CSRF_COOKIE")
            ):
                meta["CSRF_COOKIE_NEEDS_UPDATE"] = False  # the browser holds this very cookie
        elif not getattr(request, "console_background", False):
            # A page's own timer asking for notices is not activity.
            session["_console_seen"] = now  # saving moves the expiry SESSION_COOKIE_AGE on
        return response


class HealthCheckMiddleware:
    """Answers the probes before host validation and the HTTPS redirect, whatever the Host.

    Container and load-balancer probes call by IP over plain http; they must not need an
    allowed host name or TLS, and they must not touch sessions.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)


class MemberMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, with the member read at once instead of behind a
    lazy wrapper.

    Every request that gets this far reads the member anyway (MemberTimeZoneMiddleware and
    LoginRequiredMiddleware ask before any view), so the wrapper only put the read off, and
    each of the few dozen times a page then asked something of ``request.user`` went through
    its proxy: about a twentieth of a bare page's server time (docs/benchmarks.md, "Fifth
    push"). The member is read as Django's wrapper reads it, and kept on the request the same
    way; ``request.auser`` is Django's.
    """

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = get_user(request)


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """An htmx request without a session is sent to the log-in page, never swapped into a table."""

    def handle_no_permission(  # type: ignore[override]  # htmx gets a client redirect
        self, request: HttpRequest, view_func: Callable[..., Any]
    ) -> HttpResponse:
        htmx = getattr(request, "htmx", None)
        if htmx:
            next_path = htmx.current_url_abs_path or "/"
            login = redirect_to_login(next_path, self.get_login_url(view_func))
            return HttpResponseClientRedirect(login["Location"])
        return super().handle_no_permission(request, view_func)


# What a view or a template may ask of django-csp for one response: its own policy, an exemption.
# django-csp's decorators set them on the response object itself: one look at its attributes.
CSP_ASKS = frozenset(
    f"_csp_{what}{ro}" for what in ("config", "update", "replace", "exempt") for ro in ("", "_ro")
)


@cache
def _settings_policies() -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    """The policy and the report-only policy the settings give, and the paths each leaves out."""

    def excluded(name: str) -> tuple[str, ...]:
        return tuple((getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ())

    return (
        build_policy(),
        build_policy(report_only=True),
        excluded("CONTENT_SECURITY_POLICY"),
        excluded("CONTENT_SECURITY_POLICY_REPORT_ONLY"),
    )


@receiver(setting_changed)
def _forget_policies(**kwargs: Any) -> None:
    if kwargs.get("setting", "").startswith("CONTENT_SECURITY_POLICY"):
        _settings_policies.cache_clear()


class PolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the settings' policy built once per process.

    django-csp builds the header from the settings twice a request (the policy and the
    report-only one), a tenth of the console's own middleware time on a bare page. The
    console's pages use no nonce and no per-view policy (the layout has no inline script), so
    their policy is always the settings' own. A response that asks for more (a nonce read, a
    ``csp_update``-style decorator, an exemption) goes through django-csp unchanged.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:  # type: ignore[override]
        if getattr(request, "_csp_nonce", None) is not None or not CSP_ASKS.isdisjoint(
            vars(response)
        ):
            return super().process_response(request, response)  # type: ignore[return-value]
        if response.status_code in (404, 500) and settings.DEBUG:
            return response  # django-csp leaves Django's debug pages alone
        policy, report_only, left_out, left_out_ro = _settings_policies()
        path = request.path_info
        if policy and HEADER not in response and not path.startswith(left_out):
            response[HEADER] = policy
        if report_only and HEADER_REPORT_ONLY not in response and not path.startswith(left_out_ro):
            response[HEADER_REPORT_ONLY] = report_only
        # As django-csp: a nonce asked for after the header is written is an error, not a
        # silently unused value.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response


class PageHeadersMiddleware:
    """Signed-in pages are private and never stored; HTML varies on HX-Request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if "Cache-Control" in response:
                patch_cache_control(response, private=True, no_store=True)
            else:
                response["Cache-Control"] = "private, no-store"  # what patching nothing gives
        if response.get("Content-Type", "").startswith("text/html"):
            patch_vary_headers(response, ("HX-Request",))
        return response


MEMBER_ZONE = "console_time_zone"
MEMBER_THEME = "console_theme"


class MemberTimeZoneMiddleware:
    """Times are shown in the member's chosen zone (their account page), else the console's.

    The choices of that page that every page needs (zone and colours) are read from the
    database once per session and kept in it.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone: str | None = ""
        if user is not None and user.is_authenticated:
            zone = request.session.get(MEMBER_ZONE)
            if zone is None:
                from console.models import MemberSettings

                found = MemberSettings.objects.filter(user=user).values_list("time_zone", "theme")
                zone, theme = next(iter(found), ("", "system"))
                request.session[MEMBER_ZONE] = zone
                request.session[MEMBER_THEME] = theme
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class NoticesMiddleware:
    """A member's unseen notices (a run of theirs ended, a check finished) become messages.

    They show as toasts on the next page, on a table's poll, or on the layout's notices poll.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if request.method == "GET" and user is not None and user.is_authenticated:
            from console.services.notices import notice_title, notices_take

            taken, unread = notices_take(user)
            request.console_unread = unread  # type: ignore[attr-defined]
            for notice in taken:
                level = getattr(messages, notice.level.upper(), messages.INFO)
                # The link rides in the tags: "link:/runs/…/" (a path of the console's own),
                # and the tab title's words, quoted: "title:Billing%20Helper%3A%20run%20failed".
                tags = f"notice {notice.kind}" + (f" link:{notice.url}" if notice.url else "")
                if title := notice_title(notice):
                    tags += f" title:{quote(title, safe='')}"
                messages.add_message(request, level, notice.text, extra_tags=tags)
        return self.get_response(request)


def _message_tag(message: Any, name: str) -> str:
    """The value a notice's message carries in its tags as ``name:value`` ("" for none)."""
    for tag in (message.extra_tags or "").split():
        if tag.startswith(f"{name}:"):
            return tag[len(name) + 1 :]
    return ""


def message_title(message: Any) -> str:
    """The tab title a notice asks for ("" for none)."""
    return unquote(_message_tag(message, "title"))


def message_link(message: Any) -> str:
    """The console path a notice links to ("" for none); only paths starting with "/"."""
    link = _message_tag(message, "link")
    return link if link.startswith("/") and not link.startswith("//") else ""


class HtmxMessagesMiddleware:
    """Carries Django messages to htmx requests as one ``messages`` HX-Trigger event.

    Full pages render the same messages in the layout; a redirect leaves them for the next page.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if not htmx or htmx.boosted or htmx.history_restore_request:
            return response
        if 300 <= response.status_code < 400 or "HX-Redirect" in response:
            return response
        if "HX-Location" in response or "HX-Refresh" in response:
            return response
        pending = [
            {
                "level": m.level_tag,
                "text": str(m),
                "run_ended": "run_ended" in (m.extra_tags or ""),
                "url": message_link(m),
                "title": message_title(m),
            }
            for m in messages.get_messages(request)
        ]
        if pending:
            # A list, not an object: htmx hands it to listeners as ``detail.value``.
            trigger_client_event(response, "messages", pending)  # type: ignore[arg-type]
        unread = getattr(request, "console_unread", None)
        if unread is not None:
            # The header's inbox count follows the notices poll and every table's poll.
            trigger_client_event(response, "inbox", {"unread": unread})
        return response
