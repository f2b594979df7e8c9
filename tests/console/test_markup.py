"""console.markup returns what Django's escaping helpers return, for every kind of value the
console gives them."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import html as django_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from console import markup


class Marked:
    """An object with its own ``__html__``, as a form's bound field has."""

    def __html__(self) -> str:
        return "<em>own</em>"

    def __str__(self) -> str:
        return "<em>plain</em>"


VALUES: list[Any] = [
    "",
    "plain",
    'He said "hi" & <b>left</b> it\'s',
    mark_safe("<i>already safe</i>"),
    gettext_lazy("Enter the same password as before, for verification."),
    Marked(),
    0,
    12345,
    1.5,
    None,
    "\u202e\u200b\x00 control",
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_escaping_is_djangos(value: Any) -> None:
    assert markup.conditional_escape(value) == django_html.conditional_escape(value)
    if not hasattr(value, "__html__"):
        assert markup.escape(value) == django_html.escape(value)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_format_html_is_djangos(value: Any) -> None:
    template = '<a title="{}">{} &amp; {}</a>'
    ours = markup.format_html(template, value, "x<y", mark_safe("<b>"))
    theirs = django_html.format_html(template, value, "x<y", mark_safe("<b>"))
    assert ours == theirs and isinstance(ours, SafeString)


def test_format_html_join_is_djangos() -> None:
    rows = [(v, "<i>") for v in VALUES]
    ours = markup.format_html_join("<br>", "<p>{}: {}</p>", rows)
    theirs = django_html.format_html_join("<br>", "<p>{}: {}</p>", rows)
    assert ours == theirs and isinstance(ours, SafeString)
    assert markup.format_html_join(" & ", "{}", [("a",), ("b",)]) == "a &amp; b"
