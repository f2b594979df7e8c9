"""A member's saved Dr.Gero token, as pages and services read it: the row (read once per
request), and whether it is usable — never the token itself."""

from __future__ import annotations

from django.contrib.auth.models import User

from console.crypto import TokenUnavailableError, decrypt_token
from console.models import DrGeroToken
from console.selectors.compiled import Compiled

_MEMO = "_console_token_record"
TOKEN_OF = Compiled(
    DrGeroToken,
    lambda user_id: DrGeroToken.objects.filter(user_id=user_id).order_by("pk")[:1],
    lambda i: -1 - i,  # no member's id
)


def token_record(user: User) -> DrGeroToken | None:
    """The member's stored token row, read once per request (kept on the user object, which
    lives as long as the request). Writes below forget it."""
    if not hasattr(user, _MEMO):
        setattr(user, _MEMO, TOKEN_OF.first(user.pk))
    return getattr(user, _MEMO)


def remember_token_records(users: list[User]) -> None:
    """Read the token rows of many members in one query (the Team page's list)."""
    found = {t.user_id: t for t in DrGeroToken.objects.filter(user__in=users)}
    for user in users:
        setattr(user, _MEMO, found.get(user.pk))


def forget_token_record(user: User) -> None:
    if hasattr(user, _MEMO):
        delattr(user, _MEMO)


def token_status(user: User) -> str:
    """``set``, ``missing`` or ``needs re-entry`` — never the token itself."""
    record = token_record(user)
    if record is None:
        return "missing"
    try:
        decrypt_token(record.ciphertext, user_id=user.pk)
    except TokenUnavailableError:
        return "needs re-entry"
    return "set"
