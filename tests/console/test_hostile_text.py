"""Hostile text the console sends on: chat markup in the webhook, control characters in mail
subjects. Each arrives as plain, single-line text, and nothing stops on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.core import mail

from console.models import Delivery, MemberSettings, RunRecord
from console.roles import Role
from console.services.deliveries import delivery_send, webhook_document
from console.services.notices import run_ended
from console.vocabulary import chat_plain, one_line

pytestmark = pytest.mark.django_db

MARKUP = "<!channel> <@U024BE7LH> <https://evil.example|click me> @here & co"


def ended(name: str, error: str = "", **fields: Any) -> RunRecord:
    return RunRecord.objects.create(
        run_id="r1",
        model_id="m1",
        model_name=name,
        status="FAILED",
        category="failed",
        error=error,
        created_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        origin="console",
        first_seen_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        **fields,
    )


def test_chat_markup_in_the_webhook_text_arrives_as_plain_text() -> None:
    document = webhook_document(ended(MARKUP, error="<!here> out of memory"))
    text = document["text"]
    for markup in ("<!channel>", "<@U024BE7LH>", "<https://", "<!here>"):
        assert markup not in text
    assert "&lt;!channel&gt;" in text and "&lt;!here&gt;" in text
    assert "&amp; co" in text
    assert "@here" not in text and "@\u200bhere" in text
    assert document["run"]["model_name"] == MARKUP  # the data itself stays exact


def test_chat_plain_escapes_ampersands_first() -> None:
    assert chat_plain("a & <b>") == "a &amp; &lt;b&gt;"
    assert chat_plain("&lt;") == "&amp;lt;"


@pytest.mark.parametrize(
    "name",
    [
        "Billing\r\nBcc: someone@example.org",
        "Line\nbreak",
        "Tab\there\x07bell\x1b[31m",
        "Sep\u2028arator\u2029",
        "\u202eevil\u202c and \u200bzero width",
        "L" * 300,  # as long as the column holds
    ],
)
def test_a_model_name_with_control_characters_never_stops_an_email(
    name: str, make_member: Any, django_capture_on_commit_callbacks: Any
) -> None:
    starter = make_member("op", Role.OPERATOR)
    starter.email = "op@team.example"
    starter.save()
    MemberSettings.objects.create(user=starter, email_my_runs=True)
    record = ended(name, started_by=starter, started_by_username="op")
    with django_capture_on_commit_callbacks(execute=False):
        run_ended(record)
    delivery = Delivery.objects.get(channel="email")
    assert delivery_send(delivery.pk) == "sent"
    subject = mail.outbox[-1].subject
    assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in subject)
    assert "\u202e" not in subject and "\u200b" not in subject
    assert len(subject) <= 120
    assert subject.startswith("Fine-tune run of ")


def test_one_line_folds_and_limits() -> None:
    assert one_line("a\r\n  b\tc") == "a b c"
    assert one_line("x" * 100, 10) == "x" * 9 + "…"
    assert one_line("\u200b\u202e") == ""
