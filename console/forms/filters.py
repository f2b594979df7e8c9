"""The filters of the run history and the audit log."""

from __future__ import annotations

from typing import Any

from django import forms

from console.audit_words import action_choices
from console.forms.fields import DayField, Select, choice_field, native_day


class DateRangeForm(forms.Form):
    """Filters with a From and To day; To may not come before From."""

    since = DayField(label="From")
    until = DayField(label="To")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data


class AuditFilterForm(DateRangeForm):
    actor = forms.CharField(required=False, label="Who")
    action = forms.ChoiceField(required=False, label="Action", choices=[], widget=Select)
    model = forms.ChoiceField(required=False, label="Model", choices=[("", "Any")], widget=Select)
    outcome = forms.ChoiceField(
        required=False,
        widget=Select,
        choices=[
            ("", "Any"),
            ("succeeded", "Succeeded"),
            ("failed", "Failed"),
            ("unknown", "Unknown"),
        ],
    )

    field_order = ["actor", "action", "model", "outcome", "since", "until"]

    def __init__(self, *args: Any, models: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "action").choices = action_choices()
        for day in ("since", "until"):
            self.fields[day].widget = native_day()
        # A model by name; an id the console does not know (typed into the URL) is kept.
        chosen = self.data.get("model", "") if self.is_bound else ""
        known = dict(models)
        extra = [(chosen, chosen)] if chosen and chosen not in known else []
        choice_field(self, "model").choices = [("", "Any"), *models, *extra]


class RunFilterForm(DateRangeForm):
    status = forms.ChoiceField(
        required=False,
        widget=Select,
        choices=[
            ("", "Any"),
            ("queued", "Queued"),
            ("running", "Running"),
            ("succeeded", "Succeeded"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
            ("unknown", "Unknown"),
            ("unreadable", "Unknown: no token can read"),
            ("gone", "No longer in Dr.Gero"),
        ],
    )
    model = forms.ChoiceField(required=False, choices=[("", "Any")], widget=Select)
    started_by = forms.CharField(
        required=False, label="Started by", help_text="A username, or “me”."
    )
    origin = forms.ChoiceField(
        required=False,
        widget=Select,
        choices=[("", "Any"), ("console", "Console"), ("external", "Outside the console")],
    )
    sort = forms.ChoiceField(required=False, choices=[], widget=Select)

    field_order = ["status", "model", "started_by", "origin", "since", "until", "sort"]

    def __init__(
        self, *args: Any, models: list[tuple[str, str]], sorts: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "model").choices = [("", "Any"), *models]
        choice_field(self, "sort").choices = list(sorts.items())
