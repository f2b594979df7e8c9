"""Values every template can use: the navigation and the display time zone."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from console.navigation import navigation


def console(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "nav_items": navigation(request) if signed_in else [],
        "display_time_zone": timezone.get_current_timezone_name(),
        "notice_poll_seconds": settings.CONSOLE_NOTICE_POLL_SECONDS,
    }
