"""Forms: server-side validation with messages next to their fields."""

from __future__ import annotations

import re
import unicodedata
import zoneinfo
from datetime import date
from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator

from console.roles import Role
from console.services.notices import webhook_url_problem
from console.services.tokens import validate_token_text

ROLE_CHOICES = [(r.name.lower(), r.label) for r in Role]


def role_from_choice(value: str) -> Role:
    return Role[value.upper()]


class NotificationsForm(forms.Form):
    """Which emails a member gets when runs end."""

    email = forms.EmailField(
        label="Email address",
        required=False,
        help_text="Where the console sends your emails. Leave it empty to get none.",
    )
    email_my_runs = forms.BooleanField(label="Email me when a run I started ends", required=False)
    email_team_failures = forms.BooleanField(
        label="Email me when any team run fails", required=False
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Every time in the console is shown in this zone.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings

        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
        choice_field(self, "time_zone").choices = [
            ("", f"The console's zone ({settings.TIME_ZONE})"),
            *((z, z.replace("_", " ")) for z in zones),
        ]


class WebhookForm(forms.Form):
    """The team's webhook address; checked by ``notices.webhook_url_problem``."""

    url = forms.CharField(
        label="Webhook address",
        max_length=2000,
        strip=True,
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="An https:// address (a Slack incoming webhook works). It receives a small "
        "JSON document each time a run ends. Stored encrypted; only its host is shown again.",
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = webhook_url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url


class TokenForm(forms.Form):
    """Paste a token. The field is never rendered with a value: a token is never echoed."""

    token = forms.CharField(
        label="Dr.Gero API token",
        strip=True,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="Create one in Dr.Gero under Settings → Tokens; it starts with drgero_. "
        "The console stores it encrypted and never shows it again.",
        max_length=600,
        error_messages={"required": "Paste your Dr.Gero token."},
    )
    label = forms.CharField(
        label="Label (optional)",
        required=False,
        max_length=100,
        help_text="A name to recognise this token by, such as “laptop” or “team token”.",
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        problem = validate_token_text(token)
        if problem:
            raise forms.ValidationError(problem)
        return token


def username_key(name: str) -> str:
    """What two usernames that look alike share: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="What they type to log in.")
    email = forms.EmailField(required=False, help_text="Optional; for your records.")
    role = forms.ChoiceField(
        choices=ROLE_CHOICES,
        initial="viewer",
        help_text="Viewers read everything; Operators also change models and start runs; "
        "Admins also delete models and manage the team.",
    )
    password = forms.CharField(
        required=False,
        label="Initial password (optional)",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to get a one-time link they use to choose their own password.",
    )

    def clean_username(self) -> str:
        """NFKC-normalised; no invisible or control characters, spaces or markup; and not a
        name that reads the same as a member's once normalised and case-folded."""
        typed = self.cleaned_data["username"]
        if any(unicodedata.category(c)[0] in "CZ" for c in typed):
            raise forms.ValidationError(
                "Use letters, digits and @ . + - _ only: no spaces, line breaks or invisible "
                "characters."
            )
        username = unicodedata.normalize("NFKC", typed)
        UnicodeUsernameValidator()(username)
        folded = username_key(username)
        names = get_user_model().objects.values_list("username", flat=True)
        if any(username_key(name) == folded for name in names):
            raise forms.ValidationError("A member with this username already exists.")
        return username

    def clean_password(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data.get("password") or ""
        if password:
            validate_password(password)
        return password


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)


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
    action = forms.CharField(required=False, label="Action")
    model = forms.ChoiceField(required=False, label="Model", choices=[("", "Any")])
    outcome = forms.ChoiceField(
        required=False,
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
        # A model by name; an id the console does not know (typed into the URL) is kept.
        chosen = self.data.get("model", "") if self.is_bound else ""
        known = dict(models)
        extra = [(chosen, chosen)] if chosen and chosen not in known else []
        choice_field(self, "model").choices = [("", "Any"), *models, *extra]


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

    def settings_dict(self) -> dict[str, Any]:
        data = self.cleaned_data
        auto = data["size"] == "auto"
        return {
            "auto": auto,
            "rows": None if auto else data["rows"],
            "algorithm": data["algorithm"],
            "create_synthetic_data": data["create_synthetic_data"],
            "hypertuning_enabled": data["hypertuning_enabled"],
        }

    @staticmethod
    def initial_from(settings: dict[str, Any]) -> dict[str, Any]:
        return {
            "size": "auto" if settings["auto"] else "rows",
            "rows": settings.get("rows"),
            "algorithm": settings["algorithm"],
            "create_synthetic_data": settings["create_synthetic_data"],
            "hypertuning_enabled": settings["hypertuning_enabled"],
        }


class RunFilterForm(DateRangeForm):
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any"),
            ("queued", "Queued"),
            ("running", "Running"),
            ("succeeded", "Succeeded"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
            ("unknown", "Unknown"),
        ],
    )
    model = forms.ChoiceField(required=False, choices=[("", "Any")])
    started_by = forms.CharField(
        required=False, label="Started by", help_text="A username, or “me”."
    )
    origin = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("console", "Console"), ("external", "Outside the console")],
    )
    sort = forms.ChoiceField(required=False, choices=[])

    field_order = ["status", "model", "started_by", "origin", "since", "until", "sort"]

    def __init__(
        self, *args: Any, models: list[tuple[str, str]], sorts: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "model").choices = [("", "Any"), *models]
        choice_field(self, "sort").choices = list(sorts.items())


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
        auto = data["size"] == "auto"
        return {
            "enabled": True,
            "cadence": data["cadence"],
            "auto": auto,
            "rows": None if auto else data["rows"],
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
