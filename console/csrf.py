"""The CSRF token a page shows: Django's ``get_token``, with the mask drawn in one read.

Django masks the secret afresh for every response, so that a compressed page cannot give it
away (BREACH). It draws the 32 characters of the mask one at a time with ``secrets.choice``:
34 reads of the operating system's random source and a string search per character. On a
signed-in page that was a tenth of the server time (docs/benchmarks.md, "Fifth push").

Not a library's: no kept library masks Django's tokens, and Django offers no hook. This is
Django's algorithm (``django.middleware.csrf._mask_cipher_secret``) with the same inputs and
format, its randomness from one ``os.urandom`` read:
- each mask character is uniform over Django's 62 (a byte is kept only below 248 = 4 × 62,
  so no character is likelier than another);
- the token is the mask and the cipher, 64 characters, which CsrfViewMiddleware checks as
  its own;
- a new or rotated secret (a first visit, a sign-in) is still Django's to draw and set.
"""

from __future__ import annotations

import os

from django.http import HttpRequest
from django.middleware import csrf
from django.utils.safestring import SafeString

CHARS = csrf.CSRF_ALLOWED_CHARS
_BASE = len(CHARS)
_INDEX = {c: i for i, c in enumerate(CHARS)}
_KEPT_BELOW = 256 - 256 % _BASE  # 248: bytes from here up would favour the first characters


def random_indexes(count: int) -> list[int]:
    """``count`` numbers, each uniform in ``range(62)``, from the OS's random source."""
    found: list[int] = []
    while len(found) < count:
        # Twice what is needed: a byte is dropped 8 times in 256, so a second read is rare.
        found += [b % _BASE for b in os.urandom(2 * count) if b < _KEPT_BELOW]
    return found[:count]


def mask(secret: str) -> str:
    """A fresh masking of ``secret`` (32 of Django's characters), as Django's own would be."""
    shift = random_indexes(len(secret))
    return "".join([CHARS[i] for i in shift]) + "".join(
        [CHARS[(_INDEX[c] + i) % _BASE] for c, i in zip(secret, shift, strict=True)]
    )


def get_token(request: HttpRequest) -> str:
    """``django.middleware.csrf.get_token``: the request's secret, masked for this response,
    and the cookie marked to be sent (CsrfViewMiddleware, console.middleware.SlidingSession)."""
    secret = request.META.get("CSRF_COOKIE")
    if not isinstance(secret, str) or len(secret) != csrf.CSRF_SECRET_LENGTH:
        return csrf.get_token(request)  # none yet: Django draws one and sets the cookie
    try:
        token = mask(secret)
    except KeyError:  # not one of Django's characters: Django's own path decides
        return csrf.get_token(request)
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    return token


class PageToken:
    """A page's ``csrf_token``: drawn the first time a template shows it, as Django's context
    processor does, then the same string wherever the page shows it.

    A plain object rather than Django's ``SimpleLazyObject``: the template engine asks a value
    whether it is a date, a number, safe markup, before it prints it, and each question
    through the lazy proxy cost more than the answer.
    """

    __slots__ = ("_request", "_value")

    def __init__(self, request: HttpRequest) -> None:
        self._request = request
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            self._value = get_token(self._request)
        return self._value

    def __html__(self) -> SafeString:
        return SafeString(str(self))  # letters and digits only

    def __eq__(self, other: object) -> bool:
        return str(self) == other

    def __hash__(self) -> int:
        return hash(str(self))
