"""Fields and helpers the console's forms share: days written one way, choice fields."""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from console.markup import conditional_escape


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


def native_day() -> forms.DateInput:
    """A day as the browser's own date picker (it sends 2026-11-27, which DayField reads)."""
    return forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class Select(forms.Select):
    """A select whose options are built in Python.

    Django renders one sub-template per option; on the time-zone list (about 600 zones) that
    took 40 ms a page, and the history's model filter cost more than its fifty rows. The markup
    is Django's own (the same attributes, ``selected`` the same way), every value escaped by
    ``format_html``.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        # Straight from the choices, without the option dictionaries get_context() builds for
        # the templates (on the history's four filters those cost more than the rows did).
        values = self.format_value(value)
        final = self.build_attrs(self.attrs, attrs)
        multiple = self.allow_multiple_selected
        if multiple:
            final["multiple"] = True
        has_selected = False
        options = []
        for option_value, option_label in self.choices:
            group_name = None
            choices: Any = [("" if option_value is None else option_value, option_label)]
            if isinstance(option_label, list | tuple):
                group_name, choices = option_value, option_label
            rows = []
            for sub_value, sub_label in choices:
                selected = (not has_selected or multiple) and str(sub_value) in values
                has_selected |= selected
                rows.append(
                    f'<option value="{conditional_escape(sub_value)}"'
                    f"{' selected' if selected else ''}>{conditional_escape(sub_label)}</option>"
                )
            html = "".join(rows)
            options.append(
                f'<optgroup label="{conditional_escape(group_name)}">{html}</optgroup>'
                if group_name is not None
                else html
            )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(final),
            mark_safe("".join(options)),  # noqa: S308  (every value escaped above)
        )


NOTE_LIMIT = 500


class NoteField(forms.CharField):
    """Why a member does something, in their words: optional, one paragraph of at most
    ``NOTE_LIMIT`` characters, with control and invisible characters taken out and white
    space folded (it is shown in tables, exports and emails)."""

    def __init__(self, **kwargs: Any) -> None:
        widget = forms.Textarea(attrs={"rows": 2, "maxlength": NOTE_LIMIT})
        super().__init__(required=False, max_length=NOTE_LIMIT, strip=True, widget=widget, **kwargs)

    def to_python(self, value: Any) -> str:
        from console.vocabulary import one_line

        text = super().to_python(value)
        # Folded before the length check, so a paste with stray line breaks still fits.
        return one_line(text, limit=10 * NOTE_LIMIT) if text else ""


class WhyForm(forms.Form):
    """The optional note on a confirmation: kept with the audit event (and the run)."""

    note = NoteField(label="Why? (optional)")

    def __init__(
        self, *args: Any, purpose: str = "", keeps_run: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["note"]
        if purpose:
            field.label = f"Why are you {purpose}? (optional)"
        kept = "with the run and in the audit log" if keeps_run else "in the audit log"
        field.help_text = f"Kept {kept}, for the team to read later; up to {NOTE_LIMIT} characters."
