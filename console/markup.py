"""Django's escaping helpers without their wrappers, for the markup built in Python on every page.

``django.utils.html.escape`` and ``format_html`` are wrapped by ``keep_lazy``, which checks
every argument for a lazy string before each call; ``conditional_escape`` asks for
``__html__`` through it again. At a hundred values a page (the layout, a form's fields, a
table's cells) the wrappers cost more than the escaping. These return exactly what Django's
return for the values the console gives them (strings, numbers, safe strings, lazy
translations); ``tests/console/test_markup.py`` compares the two.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from django.utils.safestring import SafeData, SafeString


def escape(value: object) -> str:
    """``django.utils.html.escape``: the value as text, with &, <, >, " and ' escaped."""
    return html.escape(str(value))


def conditional_escape(value: object) -> str:
    """``django.utils.html.conditional_escape``: safe strings as they are, the rest escaped."""
    if isinstance(value, SafeData):
        return str(value)  # a safe string is its own markup
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def format_html(template: str, *args: Any) -> SafeString:
    """``django.utils.html.format_html`` with positional arguments: each escaped unless safe."""
    return SafeString(template.format(*map(conditional_escape, args)))


def format_html_join(sep: str, template: str, rows: Iterable[Iterable[Any]]) -> SafeString:
    """``django.utils.html.format_html_join``: the template filled from each row, joined."""
    return SafeString(
        conditional_escape(sep).join(template.format(*map(conditional_escape, row)) for row in rows)
    )
