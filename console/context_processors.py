"""Values every template can use: the navigation, who you are, and the display time zone."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from console.csrf import PageToken
from console.middleware import MEMBER_THEME
from console.navigation import navigation
from console.roles import role_of
from console.selectors.team import admin_names

THEMES = ("system", "light", "dark")


def _unread(user: object) -> SimpleLazyObject:
    from console.services.notices import notices_unread

    return SimpleLazyObject(lambda: notices_unread(user))  # type: ignore[arg-type]


def console(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    role = role_of(user) if signed_in else None
    session = getattr(request, "session", None)
    theme = session.get(MEMBER_THEME, "system") if signed_in and session is not None else ""
    unread = getattr(request, "console_unread", None)
    return {
        # What Django's request, auth and messages processors gave, from this one: each is a
        # call and a merge on every render. ``perms`` and ``DEFAULT_MESSAGE_LEVELS``, which no
        # template reads, are left out.
        "request": request,
        "user": user if user is not None else AnonymousUser(),
        "messages": get_messages(request),
        # Django's csrf context processor's value, drawn the same way faster (console.csrf).
        "csrf_token": PageToken(request),
        # Counted by NoticesMiddleware on every GET; a POST's page asks only if it shows it.
        "inbox_unread": unread if unread is not None or not signed_in else _unread(user),
        # Read only when the member's header is built, not when it is kept (console_layout).
        "nav_items": SimpleLazyObject(lambda: navigation(request, role)) if signed_in else [],
        "my_role": role,
        # Read only by a page that shows a "needs the … role" note or a refusal.
        "team_admins": SimpleLazyObject(admin_names),
        "theme": theme if theme in THEMES else "system",
        "display_time_zone": timezone.get_current_timezone_name(),
        "notice_poll_seconds": settings.CONSOLE_NOTICE_POLL_SECONDS,
    }
