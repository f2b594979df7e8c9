"""Reading pages as HTML, where their structure matters (attribute order and spacing do not)."""

from __future__ import annotations

from django.test.html import parse_html


def has_html(page: str, fragment: str, count: int | None = None) -> bool:
    """Whether ``fragment`` stands in ``page`` as elements (``count`` times, when given)."""
    found = parse_html(page).count(parse_html(fragment))
    return found == count if count is not None else found > 0
