"""The audit log in words: what each event did, its details and its outcome, as the pages say
them ("Training data: the newest 1,000 rows"; "Schedule: weekly → off"), never as Python
values. The exports keep the exact values and add these words beside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.vocabulary import ALGORITHMS, CADENCES, CREATION_WORDS, dataset_phrase, one_line

# The actions, by area, in the words the pages use; the filter offers them in these groups.
AREAS: list[tuple[str, str, dict[str, str]]] = [
    (
        "run",
        "Runs",
        {
            "run.start": "started a fine-tune run",
            "run.start.resolved": "learned how a run start ended",
            "run.sync": "asked Dr.Gero for run updates",
        },
    ),
    (
        "model",
        "Models",
        {
            "model.create": "created a model",
            "model.create.resolved": "learned how a model creation ended",
            "model.update": "edited a model",
            "model.delete": "deleted a model",
        },
    ),
    (
        "schedule",
        "Schedules",
        {
            "schedule.update": "changed a fine-tune schedule",
            "schedule.clear": "turned off a fine-tune schedule",
        },
    ),
    (
        "team",
        "Team",
        {
            "team.member_add": "added a member",
            "team.role_change": "changed a member's role",
            "team.deactivate": "deactivated a member",
            "team.webhook_set": "set the team webhook",
            "team.webhook_remove": "removed the team webhook",
        },
    ),
    (
        "token",
        "Dr.Gero tokens",
        {
            "token.set": "saved a Dr.Gero token",
            "token.check": "re-checked a Dr.Gero token",
            "token.remove": "removed a Dr.Gero token",
        },
    ),
    (
        "account",
        "Sign-in and accounts",
        {
            "account.sign_in": "signed in",
            "account.email_change": "changed an email address",
            "account.email_confirm": "confirmed an email address",
            "account.link": "linked an account to the identity provider",
        },
    ),
    ("audit", "Audit log", {"audit.export": "exported the audit log"}),
]

ACTION_WORDS: dict[str, str] = {
    code: words for _, _, group in AREAS for code, words in group.items()
}


def action_words(action: str) -> str:
    """``started a fine-tune run``; an action the console does not know, in its own words."""
    known = ACTION_WORDS.get(action)
    if known:
        return known
    area, _, verb = action.partition(".")
    return f"{verb.replace('_', ' ').replace('.', ' ')} ({area})" if verb else action


def action_choices() -> list[tuple[str, Any]]:
    """The Action filter's choices: any, then each area (all of it, or one action)."""
    choices: list[tuple[str, Any]] = [("", "Any")]
    for prefix, label, group in AREAS:
        options = [(prefix, f"Any of these ({label.lower()})")]
        options += [(code, words[0].upper() + words[1:]) for code, words in group.items()]
        choices.append((label, options))
    return choices


# Fields, in the words of the pages.
LABELS = {
    "name": "Name",
    "description": "Description",
    "leaderboard_ids": "Leaderboards",
    "creation_mode": "How it was created",
    "auto_update_model": "Update automatically",
    "continuous_self_learning": "Keep learning",
    "hypertuning_parameters": "Tune hyperparameters",
    "role": "Role",
    "email": "Email address",
    "active": "Active",
    "saved_token": "Saved Dr.Gero token",
    "username": "Username",
    "set_password_link": "One-time link to set a password",
    "source": "Decided by",
    "demo": "Demo account",
    "label": "Token label",
    "replaced": "Replaced an earlier token",
    "host": "Webhook receiver",
    "method": "How",
    "reason": "Why it was refused",
    "provider": "Identity provider",
    "provider_email": "Address at the provider",
    "format": "Format",
    "filters": "Filters",
    "run_id": "Run",
    "runs": "Runs read",
    "capabilities": "What the token can do",
    "note": "Why",
    "settings": "Settings",
    "schedule": "Schedule",
}

TOKEN_ABILITIES = {
    "models:read": "read models",
    "leaderboards:read": "list leaderboards",
    "base_models": "list base models",
}


def _label(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def value_words(value: Any, key: str = "") -> str:
    """One value as a page would say it: Yes and No, "none", lists joined, dicts in words."""
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if key == "creation_mode" and isinstance(value, str):
        return CREATION_WORDS.get(value, value)
    if key == "algorithm" and isinstance(value, str):
        return ALGORITHMS[value][0] if value in ALGORITHMS else value
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(value_words(v) for v in value) if value else "none"
    if isinstance(value, dict):
        if key == "capabilities":
            return _abilities(value)
        parts = [
            f"{LABELS.get(k, k.replace('_', ' '))}: {value_words(v, k)}" for k, v in value.items()
        ]
        return "; ".join(parts) if parts else "none"
    return one_line(str(value), 300)


def _abilities(capabilities: dict[str, Any]) -> str:
    can = [words for key, words in TOKEN_ABILITIES.items() if capabilities.get(key)]
    refused = capabilities.get("refused") or []
    text = "can " + ", ".join(can) if can else "can read nothing"
    if refused:
        text += "; Dr.Gero refused " + ", ".join(str(r) for r in refused)
    return text


def settings_words(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """A run's settings, as the run page lists them."""
    try:
        data = dataset_phrase(
            auto=bool(settings.get("auto")),
            rows=settings.get("rows"),
            algorithm=str(settings.get("algorithm", "")),
        )
    except (TypeError, ValueError):
        data = value_words(settings)
    return [
        ("Training data", data[0].upper() + data[1:]),
        ("Synthetic data", "Added" if settings.get("create_synthetic_data") else "None added"),
        ("Hyperparameter tuning", "On" if settings.get("hypertuning_enabled") else "Off"),
    ]


def schedule_words(schedule: Any) -> str:
    """``Weekly, on the newest 2,000 rows``; ``Off`` for no schedule."""
    if not schedule:
        return "Off"
    if not isinstance(schedule, dict):
        return value_words(schedule)
    run = schedule.get("run") if isinstance(schedule.get("run"), dict) else {}
    cadence = str(run.get("type", "")) if run else ""
    label = CADENCES[cadence][0] if cadence in CADENCES else (cadence or "On")
    dataset = schedule.get("dataset") if isinstance(schedule.get("dataset"), dict) else {}
    limit = dataset.get("limit") if dataset and isinstance(dataset.get("limit"), dict) else None
    if not limit:
        return label
    rows = limit.get("rows")
    phrase = dataset_phrase(
        auto=bool(limit.get("auto")),
        rows=rows if isinstance(rows, int) else None,
        algorithm=str(limit.get("algorithm", "")),
    )
    return f"{label}, on {phrase}"


@dataclass
class Details:
    """An event's details: sentences, label–value pairs, and before → after rows."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # label, before, after
    note: str = ""

    def __bool__(self) -> bool:
        return bool(self.pairs or self.changes or self.note)

    def one_line(self) -> str:
        """For the exports' words column and the run page: every detail on one line."""
        parts = [f"{label}: {before} → {after}" for label, before, after in self.changes]
        parts += [f"{label}: {value}" for label, value in self.pairs]
        if self.note:
            parts.append(f"Why: {self.note}")
        return "; ".join(parts)


def details_words(action: str, changes: dict[str, Any]) -> Details:
    """An event's ``changes`` in words."""
    details = Details(note=str(changes.get("note") or ""))
    rest = {k: v for k, v in changes.items() if k != "note"}
    if action.startswith("schedule."):
        before, after = rest.pop("before", None), rest.pop("after", None)
        details.changes.append(("Schedule", schedule_words(before), schedule_words(after)))
    before, after = rest.pop("before", None), rest.pop("after", None)
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            details.changes.append(
                (
                    _label(key),
                    value_words(before.get(key), key),
                    value_words(after.get(key), key),
                )
            )
    elif isinstance(after, dict):
        details.pairs += [(_label(k), value_words(v, k)) for k, v in after.items()]
    elif isinstance(before, dict):
        # What was deleted: the few fields people recognise it by.
        kept = ("name", "description")
        details.pairs += [
            (f"{LABELS[k]} before", value_words(before.get(k), k)) for k in kept if before.get(k)
        ]
    settings = rest.pop("settings", None)
    if isinstance(settings, dict):
        details.pairs += settings_words(settings)
    for key, value in rest.items():
        if key == "run_id" and value == "all":
            details.pairs.append(("Runs", "all of the model's runs"))
            continue
        details.pairs.append((_label(key), value_words(value, key)))
    return details


STATUS_WORDS = {
    400: "Dr.Gero refused the values sent",
    401: "Dr.Gero did not accept the token",
    402: "it needs a paid Dr.Gero plan",
    403: "the token lacks a permission this needs",
    404: "Dr.Gero did not find it",
    409: "Dr.Gero reported a conflict (not ready, or a run already going)",
    413: "it was too large for Dr.Gero",
    429: "Dr.Gero was busy and asked the console to slow down",
}
OUTCOME_LABELS = {"succeeded": "Succeeded", "failed": "Failed", "unknown": "Unknown"}


def outcome_words(outcome: str, status_code: int | None, message: str) -> str:
    """Why an event ended as it did, in words: its message, else what its status means."""
    if outcome == "succeeded":
        return ""
    if message:
        return one_line(message, 300)
    if status_code is None:
        return "no answer came back" if outcome == "unknown" else ""
    if status_code >= 500:
        return "Dr.Gero failed to answer properly"
    return STATUS_WORDS.get(status_code, "Dr.Gero refused it")
