"""The console's form renderer writes exactly what Django's templates write, only faster."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from console.forms.renderer import ConsoleFormRenderer

VALUES: list[Any] = [
    None,
    "",
    "plain",
    'He said "hi" & <b>left</b> it\'s',
    mark_safe("<i>already safe</i>"),
    0,
    12345,
    "\u202e\u200b\x00 control",
]
ATTRS: list[dict[str, Any]] = [
    {},
    {"id": "id_x", "autocomplete": "off", "required": True, "disabled": False},
    {"class": 'a"b', "data-x": "<y>", "maxlength": 500, "aria-describedby": "x_helptext"},
]
WIDGETS = [
    forms.TextInput,
    forms.PasswordInput,
    forms.EmailInput,
    forms.NumberInput,
    forms.URLInput,
    forms.HiddenInput,
    forms.CheckboxInput,
    forms.Textarea,
    lambda **kw: forms.DateInput(format="%Y-%m-%d", **kw),
    lambda **kw: forms.DateInput(attrs={"type": "date"}, **kw),
    lambda **kw: forms.PasswordInput(render_value=True, **kw),
]


@pytest.mark.parametrize("make", WIDGETS)
@pytest.mark.parametrize("value", VALUES, ids=repr)
@pytest.mark.parametrize("attrs", ATTRS, ids=str)
def test_an_input_is_what_djangos_templates_write(make: Any, value: Any, attrs: dict) -> None:
    widget = make()
    theirs = widget.render("field", value, attrs=dict(attrs), renderer=DjangoTemplates())
    ours = widget.render("field", value, attrs=dict(attrs), renderer=ConsoleFormRenderer())
    assert ours == theirs


@pytest.mark.parametrize("value", ["", "b", "a&b"])
def test_radio_and_checkbox_options_are_what_djangos_templates_write(value: str) -> None:
    choices = [("a&b", "A & “B”"), ("b", "<b>B</b>")]

    class Form(forms.Form):
        pick = forms.ChoiceField(choices=choices, widget=forms.RadioSelect)
        many = forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple)

    def rendered(renderer: Any) -> tuple[Any, ...]:
        form = Form(initial={"pick": value, "many": [value]}, renderer=renderer)
        return (
            [option.tag() for option in form["pick"]],
            [str(option) for option in form["many"]],
            str(form["pick"]),
        )

    assert rendered(ConsoleFormRenderer()) == rendered(DjangoTemplates())
