"""A member's own forms and the team's: token, settings, webhook, members and roles."""

from __future__ import annotations

import os
import unicodedata
import zoneinfo
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.signals import setting_changed
from django.dispatch import receiver

from console.forms.fields import Select, choice_field
from console.roles import Role
from console.services.tokens import validate_token_text
from console.services.webhook import webhook_url_problem

EMAIL_MAX = 254  # what the column holds, and what an address may be (RFC 5321)
EMAIL_TOO_LONG = "An email address is at most 254 characters."
ROLE_CHOICES = [(r.name.lower(), r.label) for r in Role]


@cache
def password_help() -> str:
    """The password validators' help, built once per process: Django's is a lazy string that
    a dozen ``format_html`` calls rebuild each of the three times a form's field reads it."""
    return str(password_validators_help_text_html())


@receiver(setting_changed)
def _forget_password_help(**kwargs: Any) -> None:
    if kwargs.get("setting") == "AUTH_PASSWORD_VALIDATORS":
        password_help.cache_clear()
        _SHOWN_EMPTY.clear()


# The empty password forms, as the pages that only show them (a GET) need them: built once
# per process. Building one deep-copies its three fields, the largest part of the password
# page's own time (docs/benchmarks.md, "Fifth push"); its markup is kept already
# (console_tags.form_fields). Shown only: a page that takes input builds its own form.
_SHOWN_EMPTY: dict[type, Any] = {}


class PasswordHelpMixin:
    fields: dict[str, forms.Field]
    # Three empty password fields, the same for every member: rendered once per process
    # (console_tags.form_fields).
    same_for_everyone = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = password_help()

    @classmethod
    def shown_empty(cls) -> Any:
        """The empty form, to show: the same object for everyone, never bound, holding no
        member (``user`` is None)."""
        form = _SHOWN_EMPTY.get(cls)
        if form is None:
            form = _SHOWN_EMPTY[cls] = cls(None)
        return form


class PasswordChangeForm(PasswordHelpMixin, auth_forms.PasswordChangeForm):
    """Django's, with the validators' help read once per process."""


class SetPasswordForm(PasswordHelpMixin, auth_forms.SetPasswordForm):
    """Django's, with the validators' help read once per process."""


def role_from_choice(value: str) -> Role:
    return Role[value.upper()]


# Zones most teams look for first, shown at the top with their offsets.
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Madrid",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
)
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
           "Europe", "Indian", "Pacific")  # fmt: skip


def offered_zones() -> list[str]:
    """The zones a member may choose: the canonical ones the tz database lists by country
    (``zone.tab``), so ``Etc/GMT+5`` (whose sign reads backwards), ``W-SU`` and other old
    names like ``Asia/Calcutta`` are not offered. Without that file, the region names."""
    for base in zoneinfo.TZPATH:
        try:
            with open(os.path.join(base, "zone.tab"), encoding="utf-8") as table:
                names = {
                    line.split("\t")[2].strip()
                    for line in table
                    if line.strip() and not line.startswith("#") and line.count("\t") >= 2
                }
        except OSError:
            continue
        available = zoneinfo.available_timezones()
        return sorted((names & available) | {"UTC"})
    return sorted(
        z for z in zoneinfo.available_timezones() if z.split("/", 1)[0] in REGIONS or z == "UTC"
    )


def _offset(zone: str, now: datetime) -> str:
    delta = now.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_choices(*, keep: str = "") -> list[tuple[str, Any]]:
    """Common zones with their offsets first, then every zone by region; ``keep``, a zone
    saved before that is no longer offered, stays a choice."""
    now = datetime.now(UTC)
    zones = offered_zones()

    def label(zone: str, place: str | None = None) -> str:
        return f"{(place or zone).replace('_', ' ')} ({_offset(zone, now)})"

    groups: dict[str, list[tuple[str, str]]] = {}
    for zone in zones:
        region, _, place = zone.partition("/")
        if place:
            groups.setdefault(region, []).append((zone, label(zone, place)))
    choices: list[tuple[str, Any]] = [
        ("Common", [(z, label(z)) for z in COMMON_ZONES if z in zones or z == "UTC"])
    ]
    if keep and keep not in zones and keep in zoneinfo.available_timezones():
        choices.insert(0, ("Saved before", [(keep, f"{label(keep)} — an older name")]))
    choices += [(region, places) for region, places in sorted(groups.items())]
    return choices


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
        # A zone saved before (an older name, say) stays a choice for this member.
        kept = str((self.data if self.is_bound else self.initial).get("time_zone") or "")
        choice_field(self, "time_zone").choices = [
            ("", f"The console's zone ({settings.TIME_ZONE})"),
            *zone_choices(keep=kept),
        ]
        self.fields["time_zone"].widget.attrs["data-browser-zone"] = ""

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
        help_text="Optional. Without an initial password, the one-time link to choose one is "
        "mailed here. The address counts as confirmed: with it, their first sign-in through the "
        "team's identity provider finds this account.",
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
