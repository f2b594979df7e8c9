"""Page cursors: opaque and signed, so the server never parses a value an attacker shaped.

A cursor names the order it was made for; one from another order, or one that was edited,
reads as no cursor at all (the first page).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core import signing

SALT = "console.page-cursor"


def cursor_make(order: str, value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        kept: list[Any] = ["d", value.isoformat()]
    elif value is None or isinstance(value, int | str):
        kept = ["v", value]
    else:
        kept = ["v", str(value)]
    return signing.dumps([order, *kept, pk], salt=SALT, compress=True)


def cursor_read(order: str, text: str | None) -> tuple[Any, int] | None:
    """(value, pk) from a cursor made for ``order``; None for anything else."""
    if not text:
        return None
    try:
        made_for, kind, value, pk = signing.loads(text, salt=SALT)
        if made_for != order or not isinstance(pk, int) or isinstance(pk, bool):
            return None
        if kind == "d":
            value = datetime.fromisoformat(value)
        elif value is not None and not isinstance(value, int | str):
            return None
        return value, pk
    except (signing.BadSignature, ValueError, TypeError):
        return None
