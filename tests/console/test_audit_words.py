"""The audit log in words: every recorded shape of ``changes`` reads as the pages say it."""

from __future__ import annotations

import re

import pytest

from console.audit_words import (
    ACTION_WORDS,
    action_choices,
    action_words,
    details_words,
    outcome_words,
    schedule_words,
)

WEEKLY = {
    "run": {"type": "WEEKLY"},
    "dataset": {"mode": "LIMIT", "limit": {"auto": False, "rows": 2000, "algorithm": "LAST_N"}},
}
PYTHON = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|[{}\[\]]|'[a-z_]+':|LAST_N|_SHUFFLE")


def test_a_schedule_change_reads_before_and_after() -> None:
    words = details_words("schedule.clear", {"before": WEEKLY, "after": None})
    assert words.changes == [("Schedule", "Weekly, on the newest 2,000 rows", "Off")]
    assert words.one_line() == "Schedule: Weekly, on the newest 2,000 rows → Off"


def test_a_run_start_reads_as_the_run_page_does() -> None:
    settings = {
        "auto": False,
        "rows": 1000,
        "algorithm": "WEIGHTED_SHUFFLE",
        "create_synthetic_data": True,
        "hypertuning_enabled": False,
    }
    words = details_words("run.start", {"settings": settings, "note": "Quarter end"})
    assert words.pairs == [
        ("Training data", "A weighted sample of 1,000 rows"),
        ("Synthetic data", "Added"),
        ("Hyperparameter tuning", "Off"),
    ]
    assert words.note == "Quarter end"


def test_a_model_edit_names_each_field_in_words() -> None:
    words = details_words(
        "model.update",
        {
            "before": {"auto_update_model": False, "leaderboard_ids": [], "creation_mode": "auto"},
            "after": {"auto_update_model": True, "leaderboard_ids": ["b1", "b2"]},
        },
    )
    assert words.changes == [
        ("Update automatically", "No", "Yes"),
        ("Leaderboards", "none", "b1, b2"),
        ("How it was created", "Automatic", "none"),
    ]


@pytest.mark.parametrize(
    ("action", "changes"),
    [
        ("model.create", {"after": {"name": "M", "hypertuning_parameters": None, "x": [1, 2]}}),
        ("model.delete", {"before": {"name": "M", "description": None, "raw": {"a": 1}}}),
        ("team.role_change", {"before": {"role": "Viewer"}, "after": {"role": "Admin"}}),
        ("team.deactivate", {"before": {"active": True}, "after": {"active": False}}),
        ("token.set", {"replaced": False, "label": "", "capabilities": {"models:read": True}}),
        ("token.check", {"capabilities": {"refused": ["models:write"]}}),
        ("run.sync", {"run_id": "all", "runs": 3}),
        ("audit.export", {"format": "csv", "filters": {"action": "run", "since": None}}),
        ("account.sign_in", {"method": "password", "reason": None}),
        ("something.new", {"nested": {"deep": {"deeper": True}}, "flag": False}),
    ],
)
def test_no_python_value_reaches_the_words(action: str, changes: dict) -> None:
    line = details_words(action, changes).one_line()
    assert line
    assert not PYTHON.search(line), line


def test_failures_say_why_in_words() -> None:
    assert outcome_words("failed", 401, "") == "Dr.Gero did not accept the token"
    assert outcome_words("failed", 402, "") == "it needs a paid Dr.Gero plan"
    assert outcome_words("failed", 503, "") == "Dr.Gero failed to answer properly"
    assert outcome_words("failed", 401, "Your token was refused.") == "Your token was refused."
    assert outcome_words("unknown", None, "") == "no answer came back"
    assert outcome_words("succeeded", 200, "") == ""


def test_every_action_has_words_and_a_place_in_the_filter() -> None:
    offered = {code for _, group in action_choices()[1:] for code, _ in group}
    assert set(ACTION_WORDS) <= offered
    assert {"run", "model", "schedule", "team", "account"} <= offered  # whole areas
    assert action_words("model.rename") == "rename (model)"


def test_a_schedule_with_an_odd_shape_is_still_words() -> None:
    assert schedule_words(None) == "Off"
    assert schedule_words({"run": {"type": "FORTNIGHTLY"}}) == "FORTNIGHTLY"
    assert schedule_words({"run": "weekly", "dataset": 3}) == "On"
