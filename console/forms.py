"""Forms: server-side validation with messages next to their fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from console.roles import Role
from console.services.tokens import validate_token_text

ROLE_CHOICES = [(r.name.lower(), r.label) for r in Role]


def role_from_choice(value: str) -> Role:
    return Role[value.upper()]


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
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
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


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, label="Who")
    action = forms.CharField(required=False, label="Action")
    model = forms.CharField(required=False, label="Model id")
    outcome = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any"),
            ("succeeded", "Succeeded"),
            ("failed", "Failed"),
            ("unknown", "Unknown"),
        ],
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data
