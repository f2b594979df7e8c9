"""Sending what a run's end means for people: each email and webhook call (a ``Delivery`` row,
written once by ``notices.run_ended``) is tried by the worker (``deliver``), retried by Huey, and
claimed by its attempt count so that two tasks for one delivery send it once. Nothing here
ever logs the webhook URL or a token.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from console.crypto import TokenUnavailableError, decrypt_secret
from console.models import (
    Delivery,
    DeliveryChannel,
    DeliveryState,
    RunRecord,
    TeamWebhook,
)
from console.services.notices import OUTCOME_WORDS, history_url, run_end_sentence, run_url
from console.services.webhook import NOT_DELIVERED, WEBHOOK_BINDING, Undeliverable, post_json
from console.vocabulary import chat_plain, duration_phrase, one_line

log = logging.getLogger(__name__)

LOST_ENQUEUE = timedelta(minutes=2)  # a delivery never tried after this was not enqueued


def deliveries_due(*, older_than: timedelta = timedelta(0)) -> list[int]:
    """Deliveries never tried yet (a lost enqueue is picked up by the minute's flush)."""
    cutoff = timezone.now() - older_than
    return list(
        Delivery.objects.filter(
            state=DeliveryState.PENDING, attempts=0, created_at__lte=cutoff
        ).values_list("pk", flat=True)[:200]
    )


class DeliveryRetry(Exception):
    """Raised so that Huey tries the delivery again later; carries no URL."""


def delivery_send(delivery_id: int) -> str:
    """Try one delivery: ``sent``, ``failed`` (gave up) or raises ``DeliveryRetry``."""
    delivery = Delivery.objects.select_related("run").filter(pk=delivery_id).first()
    if delivery is None or delivery.state != DeliveryState.PENDING:
        return "skipped"
    tries = delivery.attempts
    claimed = Delivery.objects.filter(
        pk=delivery.pk, state=DeliveryState.PENDING, attempts=tries
    ).update(attempts=tries + 1, last_attempt_at=timezone.now())
    if not claimed:
        return "skipped"  # another worker is sending it
    try:
        if delivery.channel == DeliveryChannel.EMAIL:
            _send_email(delivery)
        else:
            _send_webhook(delivery.run)
    except _SendError as exc:
        last = tries + 1 >= settings.CONSOLE_WEBHOOK_ATTEMPTS
        Delivery.objects.filter(pk=delivery.pk).update(
            last_error=str(exc)[:300], state=DeliveryState.FAILED if last else DeliveryState.PENDING
        )
        log.warning(
            "%s delivery %s about run %s: %s (attempt %s)",
            delivery.channel,
            delivery.pk,
            delivery.run.run_id,
            exc,
            tries + 1,
        )
        if last:
            return "failed"
        raise DeliveryRetry(f"{delivery.channel} delivery {delivery.pk}: {exc}") from None
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.SENT, sent_at=timezone.now(), last_error=""
    )
    return "sent"


class _SendError(Exception):
    """A delivery failed, in plain words that never include the address."""


def _send_email(delivery: Delivery) -> None:
    member = get_user_model().objects.filter(pk=int(delivery.recipient), is_active=True).first()
    if member is None or not member.email:
        raise _SendError("the member has no email address or is no longer active")
    record = delivery.run
    sentence = run_end_sentence(record)
    lines = [sentence, "", f"Model: {record.model_name or record.model_id}"]
    lines.append(f"Outcome: {OUTCOME_WORDS.get(record.category, record.status)}")
    if record.error and record.category == "failed":
        lines.append(f"Reason Dr.Gero gave: {record.error}")
    if took := duration_phrase(record.duration_seconds):
        lines.append(f"Duration: {took}")
    who = record.started_by_username or "outside the console (Dr.Gero's schedule or another tool)"
    lines.append(f"Started by: {who}")
    if record.note:
        lines.append(f"Why: {record.note}")
    lines += [
        "",
        f"The run: {settings.CONSOLE_URL}{run_url(record)}",
        f"Run history: {settings.CONSOLE_URL}{history_url(record)}",
        "",
    ]
    settings_url = f"{settings.CONSOLE_URL}{reverse('console:notifications')}"
    lines.append(f"Choose which emails you get on Your settings: {settings_url}")
    name = one_line(record.model_name or record.model_id, 80)
    outcome = OUTCOME_WORDS.get(record.category, "ended")
    try:
        send_mail(
            f"Fine-tune run of {name} {outcome}",
            "\n".join(lines),
            None,
            [member.email],
        )
    except (smtplib.SMTPException, OSError) as exc:  # what sending mail raises; a programming
        # error is not a refusal by the mail server and is left to be seen. Never the credentials.
        raise _SendError(
            f"the mail server refused or did not answer ({type(exc).__name__})"
        ) from None


def webhook_document(record: RunRecord) -> dict[str, Any]:
    """The JSON a webhook receives; ``text`` makes it a valid Slack incoming-webhook message."""
    link = f"{settings.CONSOLE_URL}{run_url(record)}"
    return {
        "text": f"{chat_plain(run_end_sentence(record))} {link}",
        "event": "run.ended",
        "run": {
            "id": record.run_id,
            "model_id": record.model_id,
            "model_name": record.model_name,
            "status": record.status,
            "outcome": record.category,
            "error": record.error or None,
            "started_by": record.started_by_username or None,
            "origin": record.origin,
            "created_at": record.created_at.isoformat() if record.created_at else None,
            "finished_at": record.finished_at.isoformat() if record.finished_at else None,
            "duration_seconds": record.duration_seconds,
        },
        "run_url": link,
        "history_url": f"{settings.CONSOLE_URL}{history_url(record)}",
    }


@sensitive_variables("url")
def _send_webhook(record: RunRecord) -> None:
    hook = TeamWebhook.objects.filter(pk=1).first()
    if hook is None:
        raise _SendError("the team webhook was removed")
    try:
        url = decrypt_secret(hook.ciphertext, binding=WEBHOOK_BINDING)
    except TokenUnavailableError:
        raise _SendError("the saved webhook address can no longer be read; save it again") from None
    try:
        status = post_json(url, webhook_document(record))
    except Undeliverable as exc:
        words = str(exc)
        raise _SendError(
            NOT_DELIVERED if words == NOT_DELIVERED else f"{NOT_DELIVERED}: {words}"
        ) from None
    if not 200 <= status < 300:
        raise _SendError(f"the receiver answered {status}")
