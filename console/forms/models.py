"""Creating, editing and deleting a model."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from console.forms.fields import Select, choice_field

UUID_PATTERN = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
CREATION_MODES = [("auto", "Automatic — Dr.Gero builds the model from its leaderboards")]


class ModelForm(forms.Form):
    """Create or edit a model. Leaderboards come from a picker, or as ids when it can't list."""

    name = forms.CharField(
        max_length=200,
        help_text="What your team calls this model; shown everywhere in the console.",
        error_messages={"required": "Give the model a name."},
    )
    description = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or two sentences on what the model is for.",
    )
    leaderboards = forms.MultipleChoiceField(
        required=False,
        label="Leaderboards",
        widget=forms.CheckboxSelectMultiple,
        help_text="The leaderboards whose data the model is fine-tuned from.",
    )
    leaderboard_ids = forms.CharField(
        required=False,
        label="Leaderboard ids",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="Your token can't list leaderboards, so paste their ids, one per line "
        "(ask whoever manages the leaderboards in Dr.Gero).",
    )
    creation_mode = forms.ChoiceField(
        choices=CREATION_MODES,
        widget=Select,
        initial="auto",
        help_text="How Dr.Gero creates the model.",
    )
    auto_update_model = forms.BooleanField(
        required=False,
        label="Update automatically",
        help_text="Dr.Gero refreshes the model when its leaderboards change.",
    )
    continuous_self_learning = forms.BooleanField(
        required=False,
        label="Keep learning",
        help_text="The model keeps learning from new data between fine-tune runs.",
    )
    hypertuning_parameters = forms.BooleanField(
        required=False,
        label="Tune hyperparameters",
        help_text="Dr.Gero searches for better training settings; runs take longer.",
    )

    def __init__(
        self,
        *args: Any,
        leaderboards: list[Any] | None = None,
        keep_ids: list[str] | None = None,
        keep_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.picker = leaderboards is not None
        if self.picker:
            choices = [(b.id, b.name) for b in leaderboards or []]
            known = {c[0] for c in choices}
            choices += [(i, f"{i} (not listed)") for i in keep_ids or [] if i not in known]
            choice_field(self, "leaderboards").choices = choices
            del self.fields["leaderboard_ids"]
        else:
            del self.fields["leaderboards"]
        if keep_mode and keep_mode not in dict(CREATION_MODES):
            choice_field(self, "creation_mode").choices = [
                *CREATION_MODES,
                (keep_mode, f"{keep_mode} (as Dr.Gero has it)"),
            ]

    def clean_leaderboard_ids(self) -> list[str]:
        text = self.cleaned_data.get("leaderboard_ids") or ""
        ids = [part.strip() for part in re.split(r"[\s,]+", text) if part.strip()]
        bad = [i for i in ids if not UUID_PATTERN.match(i)]
        if bad:
            raise forms.ValidationError(
                "These are not leaderboard ids (a leaderboard id looks like "
                "b60fe691-06a3-4261-bec3-6080380dc72d): " + ", ".join(bad[:5])
            )
        return list(dict.fromkeys(ids))

    def api_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        ids = data.get("leaderboards") if self.picker else data.get("leaderboard_ids")
        return {
            "name": data["name"].strip(),
            "description": data.get("description", ""),
            "leaderboard_ids": list(ids or []),
            "creation_mode": data["creation_mode"],
            "auto_update_model": data["auto_update_model"],
            "continuous_self_learning": data["continuous_self_learning"],
            "hypertuning_parameters": data["hypertuning_parameters"],
        }

    @staticmethod
    def initial_from(fields: dict[str, Any], *, picker: bool) -> dict[str, Any]:
        initial = dict(fields)
        ids = initial.pop("leaderboard_ids", [])
        if picker:
            initial["leaderboards"] = ids
        else:
            initial["leaderboard_ids"] = "\n".join(ids)
        return initial


class DeleteModelForm(forms.Form):
    confirm_name = forms.CharField(
        label="Type the model's name to confirm",
        error_messages={"required": "Type the model's name to confirm."},
    )

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.expected:
            raise forms.ValidationError("That is not the model's name; nothing was deleted.")
        return typed
