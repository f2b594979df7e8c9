"""What each member chose on *Your settings*: which emails they get, their time zone, their
colours, and their address (changed through ``emails.email_change``)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest

from console.models import (
    MemberSettings,
)
from console.services.emails import email_change


def member_settings(user: User) -> MemberSettings:
    found = MemberSettings.objects.filter(user=user).first()
    return found or MemberSettings(user=user)


def member_settings_save(
    *,
    user: User,
    email: str,
    email_my_runs: bool,
    email_team_failures: bool,
    time_zone: str = "",
    theme: str = "system",
    request: HttpRequest | None = None,
) -> bool:
    """Save the member's choices; a changed address goes through ``emails.email_change``
    (audited, unconfirmed until its mailed link is followed). Returns whether a link was sent."""
    MemberSettings.objects.update_or_create(
        user=user,
        defaults={
            "email_my_runs": email_my_runs,
            "email_team_failures": email_team_failures,
            "time_zone": time_zone,
            "theme": theme,
        },
    )
    return email_change(user=user, email=email, request=request)
