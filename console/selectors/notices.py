"""A member's inbox: their notices, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from console.models import Notice

INBOX_PAGE = 50


@dataclass(frozen=True)
class InboxPage:
    notices: list[Notice]
    page: int
    has_next: bool


def inbox_page(user: User, *, page: int = 1) -> InboxPage:
    """The member's notices, newest first; the ``notice_user_created`` index orders them."""
    page = max(1, page)
    start = (page - 1) * INBOX_PAGE
    rows = list(
        Notice.objects.filter(user=user)
        .select_related("run")
        .order_by("-created_at", "-pk")[start : start + INBOX_PAGE + 1]
    )
    return InboxPage(rows[:INBOX_PAGE], page, len(rows) > INBOX_PAGE)
