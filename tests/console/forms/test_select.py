"""The console's Select renders exactly what Django's own Select renders, only faster."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django import forms

from console.forms.fields import Select


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[Any, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, tuple(sorted(attrs))))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.events.append(("text", data.strip()))


def parsed(html: str) -> list[tuple[Any, ...]]:
    tree = Tree()
    tree.feed(str(html))
    return tree.events


CHOICES = [
    ("", "Any"),
    ("a&b", "A <b> & “quoted”"),
    ('x"y', "It's"),
    ("Group", [("g1", "One"), ("g2", "Two")]),
    (3, "Three"),
]


@pytest.mark.parametrize("value", ["", "a&b", "g2", "3", None, "missing"])
@pytest.mark.parametrize(
    "attrs",
    [None, {"id": "id_x", "aria-describedby": "x_help", "required": True, "disabled": False}],
)
def test_the_same_markup_as_django(value: Any, attrs: dict[str, Any] | None) -> None:
    ours = Select(attrs={"class": "c"}, choices=CHOICES).render("name<", value, attrs)
    django = forms.Select(attrs={"class": "c"}, choices=CHOICES).render("name<", value, attrs)
    assert parsed(ours) == parsed(django)
    assert "<b>" not in ours and "&lt;b&gt;" in ours


def test_a_bound_form_marks_the_chosen_option_and_its_errors() -> None:
    class Form(forms.Form):
        pick = forms.ChoiceField(choices=CHOICES[:3], widget=Select, help_text="Help")

    bound = Form({"pick": "nope"})
    assert not bound.is_valid()
    html = str(bound["pick"])
    assert (
        'aria-invalid="true"' in html
        and 'aria-describedby="id_pick_helptext id_pick_error"' in html
    )
    chosen = str(Form({"pick": "a&b"})["pick"])
    assert '<option value="a&amp;b" selected>' in chosen
