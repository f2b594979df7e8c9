"""A member's own forms and the team's: token, settings, webhook, members and roles."""

from __future__ import annotations

import unicodedata
import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator

from console.forms.fields import Select, choice_field
from console.roles import Role
from console.services.tokens import validate_token_text
from console.services.webhook import webhook_url_problem

EMAIL_MAX = 254  # what the column holds, and what an address may be (RFC 5321)
EMAIL_TOO_LONG = "An email address is at most 254 characters."
ROLE_CHOICES = [(r.name.lower(), r.label) for r in Role]


def role_from_choice(value: str) -> Role:
    return Role[value.upper()]


class NotificationsForm(forms.Form):
    """Which emails a member gets when runs end."""

    email = forms.EmailField(
        label="Email address",
        required=False,
        max_length=EMAIL_MAX,
        error_messages={"max_length": EMAIL_TOO_LONG},
        help_text="Where the console sends your emails. A new address is confirmed by a link "
        "we mail to it. Leave it empty to get none.",
    )
    email_my_runs = forms.BooleanField(label="Email me when a run I started ends", required=False)
    email_team_failures = forms.BooleanField(
        label="Email me when any team run fails", required=False
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        widget=Select,
        help_text="Every time in the console is shown in this zone.",
    )
    theme = forms.ChoiceField(
        label="Colours",
        widget=Select,
        choices=[
            ("system", "As your system is set (light or dark)"),
            ("light", "Light"),
            ("dark", "Dark"),
        ],
        initial="system",
        required=False,
        help_text="Dark mode follows your system unless you choose here.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.conf import settings

        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
        choice_field(self, "time_zone").choices = [
            ("", f"The console's zone ({settings.TIME_ZONE})"),
            *((z, z.replace("_", " ")) for z in zones),
        ]

    def clean_theme(self) -> str:
        return str(self.cleaned_data.get("theme") or "system")


class WebhookForm(forms.Form):
    """The team's webhook address; checked by ``webhook.webhook_url_problem``."""

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
    email = forms.EmailField(
        required=False,
        max_length=EMAIL_MAX,
        error_messages={"max_length": EMAIL_TOO_LONG},
        help_text="Optional. The address you give counts as confirmed: with it, their first "
        "sign-in through the team's identity provider finds this account.",
    )
    role = forms.ChoiceField(
        choices=ROLE_CHOICES,
        initial="viewer",
        widget=Select,
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
