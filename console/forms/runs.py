"""Starting a run and a model's fine-tune schedule: the dataset fields they share."""

from __future__ import annotations

from typing import Any

from django import forms

from console.forms.fields import choice_field
from console.services.runs import RunSettings


def algorithm_choices() -> list[tuple[str, str]]:
    from console.vocabulary import ALGORITHMS

    return [(value, f"{label} — {sentence}") for value, (label, sentence) in ALGORITHMS.items()]


class DatasetFields(forms.Form):
    """Dataset size and row selection, shared by the start-run form and the schedule editor."""

    size = forms.ChoiceField(
        label="Dataset size",
        choices=[
            ("auto", "Automatic — Dr.Gero decides how many rows to use"),
            ("rows", "A number of rows"),
        ],
        initial="rows",
        widget=forms.RadioSelect,
    )
    rows = forms.IntegerField(
        label="Rows",
        required=False,
        min_value=1,
        max_value=10_000_000,
        initial=1000,
        help_text="How many rows of your data to train on: a whole number from 1 to 10,000,000.",
        error_messages={
            "invalid": "Enter a whole number of rows, such as 1000.",
            "min_value": "Use at least 1 row.",
            "max_value": "At most 10,000,000 rows.",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}),
    )
    algorithm = forms.ChoiceField(
        label="Which rows",
        choices=algorithm_choices,
        initial="LAST_N",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self["size"].value() == "auto":
            # Rows mean nothing while the size is automatic; the script toggles this live.
            self.fields["rows"].widget.attrs["disabled"] = True

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("size") == "rows" and data.get("rows") is None and "rows" not in self.errors:
            self.add_error("rows", "Enter how many rows to use, or choose Automatic.")
        return data


class RunStartForm(DatasetFields):
    create_synthetic_data = forms.BooleanField(
        required=False,
        label="Create synthetic data",
        help_text="Dr.Gero adds generated examples to the training data.",
    )
    hypertuning_enabled = forms.BooleanField(
        required=False,
        initial=True,
        label="Tune hyperparameters",
        help_text="Dr.Gero searches for better training settings; the run takes longer.",
    )

    def run_settings(self) -> RunSettings:
        """What was chosen, as the typed value the services take."""
        data = self.cleaned_data
        return RunSettings(
            auto=data["size"] == "auto",
            rows=data["rows"],
            algorithm=data["algorithm"],
            create_synthetic_data=data["create_synthetic_data"],
            hypertuning_enabled=data["hypertuning_enabled"],
        )

    @staticmethod
    def initial_from(settings: dict[str, Any]) -> dict[str, Any]:
        return {
            "size": "auto" if settings["auto"] else "rows",
            "rows": settings.get("rows"),
            "algorithm": settings["algorithm"],
            "create_synthetic_data": settings["create_synthetic_data"],
            "hypertuning_enabled": settings["hypertuning_enabled"],
        }


def cadence_choices(keep: str | None = None) -> list[tuple[str, str]]:
    from console.vocabulary import CADENCES

    choices = [(value, f"{label} — {sentence}") for value, (label, sentence, _) in CADENCES.items()]
    if keep and keep not in CADENCES:
        choices.append((keep, f"{keep} — as Dr.Gero has it (the console does not know this one)"))
    return choices


class ScheduleForm(DatasetFields):
    enabled = forms.ChoiceField(
        label="Scheduled fine-tuning",
        choices=[
            ("on", "On — Dr.Gero fine-tunes this model on a schedule"),
            ("off", "Off — runs start only when someone starts one"),
        ],
        widget=forms.RadioSelect,
        initial="off",
    )
    cadence = forms.ChoiceField(
        label="How often",
        required=False,
        widget=forms.RadioSelect,
        choices=[],
    )

    field_order = ["enabled", "cadence", "size", "rows", "algorithm"]

    def __init__(self, *args: Any, keep_cadence: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "cadence").choices = cadence_choices(keep_cadence)
        # Off needs no cadence or dataset; the dataset fields validate only when on.
        self.fields["size"].required = False
        self.fields["algorithm"].required = False

    def clean(self) -> dict[str, Any]:
        forms.Form.clean(self)
        data = self.cleaned_data
        if data.get("enabled") != "on":
            for name in ("rows", "size", "algorithm", "cadence"):
                self.errors.pop(name, None)
            return data
        if not data.get("cadence"):
            self.add_error("cadence", "Choose how often Dr.Gero should fine-tune.")
        if not data.get("size"):
            self.add_error("size", "Choose a dataset size.")
        if not data.get("algorithm"):
            self.add_error("algorithm", "Choose which rows to use.")
        if data.get("size") == "rows" and data.get("rows") is None and "rows" not in self.errors:
            self.add_error("rows", "Enter how many rows to use, or choose Automatic.")
        return data

    def choice_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data.get("enabled") != "on":
            return {"enabled": False}
        return {
            "enabled": True,
            "cadence": data["cadence"],
            "auto": data["size"] == "auto",
            "rows": data["rows"],
            "algorithm": data["algorithm"],
        }

    @staticmethod
    def initial_from(choice: Any) -> dict[str, Any]:
        return {
            "enabled": "on" if choice.enabled else "off",
            "cadence": choice.cadence,
            "size": "auto" if choice.auto else "rows",
            "rows": choice.rows if choice.rows is not None else 1000,
            "algorithm": choice.algorithm or "LAST_N",
        }
