"""Fields and helpers the console's forms share: days written one way, choice fields."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms


def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """A form's choice field, to set its choices (a plain ``Field`` has none)."""
    return cast(forms.ChoiceField, form.fields[name])


DAY_FORMAT = "%d %b %Y"  # 27 Nov 2026: the one way the console writes a day


class DayField(forms.DateField):
    """A day to filter by: a date the console can count a day on from, or a form error.

    Written as everywhere else in the console (27 Nov 2026); 2026-11-27 is read too.
    """

    FIRST, LAST = date(1970, 1, 1), date(2999, 12, 31)
    input_formats = [DAY_FORMAT, "%d %B %Y", "%Y-%m-%d"]

    def __init__(self, **kwargs: Any) -> None:
        widget = forms.DateInput(
            format=DAY_FORMAT, attrs={"placeholder": "e.g. 27 Nov 2026", "autocomplete": "off"}
        )
        super().__init__(required=False, widget=widget, **kwargs)

    def bound_data(self, data: Any, initial: Any) -> Any:
        """A day given as 2026-11-27 is shown back as 27 Nov 2026; what cannot be read, as is."""
        try:
            return self.to_python(data) or data
        except forms.ValidationError:
            return data

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and not self.FIRST <= value <= self.LAST:
            raise forms.ValidationError("Enter a date between 1970 and 2999.")
