"""The console's form renderer: Django's, except that plain inputs and textareas are built in
Python.

Each ``<input>`` Django renders goes through three templates (the widget's, ``input.html`` and
``attrs.html``); on a page with a small form that was a fifth of its server time. The markup
here is exactly what those templates write (the same attribute order, values escaped the same
way, ``value`` left out when there is none), and ``tests/console/forms/test_renderer.py``
compares the two for every widget the console uses. Every other template goes to Django's.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.safestring import SafeString, mark_safe

from console.markup import conditional_escape

WIDGETS = "django/forms/widgets/"
INPUTS = frozenset(
    f"{WIDGETS}{name}.html"
    for name in (
        "input",
        "text",
        "password",
        "email",
        "number",
        "url",
        "search",
        "tel",
        "date",
        "datetime",
        "time",
        "hidden",
        "checkbox",
        "color",
    )
)
OPTIONS = frozenset({f"{WIDGETS}radio_option.html", f"{WIDGETS}checkbox_option.html"})
TEXTAREA = f"{WIDGETS}textarea.html"


def _attrs(attrs: dict[str, Any]) -> str:
    """``attrs.html``: `` name="value"`` for each, `` name`` for True, nothing for False."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{conditional_escape(str(value))}"')
    return "".join(out)


def _input(widget: dict[str, Any]) -> str:
    value = widget["value"]
    shown = f' value="{conditional_escape(str(value))}"' if value is not None else ""
    return (
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'
    )


class ConsoleFormRenderer(DjangoTemplates):
    def render(
        self, template_name: str, context: dict[str, Any], request: Any = None
    ) -> SafeString:
        widget = context.get("widget")
        if widget is not None:
            if template_name in INPUTS:
                return mark_safe(_input(widget))  # noqa: S308  (every value escaped above)
            if template_name in OPTIONS and not widget.get("wrap_label"):
                return mark_safe(_input(widget))  # noqa: S308  (every value escaped above)
            if template_name == TEXTAREA:
                value = widget["value"]
                text = conditional_escape(value) if value else ""
                return mark_safe(  # noqa: S308  (every value escaped)
                    f'<textarea name="{conditional_escape(widget["name"])}"'
                    f"{_attrs(widget['attrs'])}>\n{text}</textarea>"
                )
        return mark_safe(super().render(template_name, context, request))  # noqa: S308  (Django's)
