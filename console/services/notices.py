"""Telling people when runs end: in-app notices, emails and the team webhook.

``run_ended`` is called once per run end, inside the transaction that recorded it; it writes
the notices and one ``Delivery`` row per email or webhook call (unique per run, channel and
recipient), and the worker sends those after the commit (``delivery_send``), retrying through
Huey. Nothing here ever logs the webhook URL or a token.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from console import jobs
from console.crypto import TokenUnavailableError, decrypt_secret, encrypt_secret
from console.models import (
    Delivery,
    DeliveryChannel,
    DeliveryState,
    MemberSettings,
    Notice,
    RunOrigin,
    RunRecord,
    TeamWebhook,
)
from console.services.audit import Actor, Target, audit_record
from console.services.emails import email_change
from console.services.webhook import NOT_DELIVERED, Undeliverable, post_json, url_problem
from console.vocabulary import chat_plain, duration_phrase, one_line

log = logging.getLogger(__name__)

WEBHOOK_BINDING = ("webhook", "team")
LOST_ENQUEUE = timedelta(minutes=2)  # a delivery never tried after this was not enqueued
OUTCOME_WORDS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "was cancelled",
}


# What a run's end says.


def history_url(record: RunRecord) -> str:
    return reverse("console:model-runs", args=[record.model_id])


def run_url(record: RunRecord) -> str:
    return reverse("console:run-detail", args=[record.run_id])


def run_end_sentence(record: RunRecord) -> str:
    """``The fine-tune run of Support Assistant failed after 12 min: Out of memory.``"""
    name = record.model_name or record.model_id
    outcome = OUTCOME_WORDS.get(record.category, f"ended ({record.status})")
    took = duration_phrase(record.duration_seconds)
    sentence = f"The fine-tune run of {name} {outcome}"
    if took:
        sentence += f" after {took}"
    if record.category == "failed" and record.error:
        return f"{sentence}: {record.error.strip().rstrip('.')}."
    return sentence + "."


def run_ended(record: RunRecord) -> None:
    """Write the notices and deliveries for a run that just ended (inside its transaction)."""
    now = timezone.now()
    url = run_url(record)
    text = run_end_sentence(record)
    level = {"succeeded": "success", "failed": "error"}.get(record.category, "warning")
    emailed: set[int] = set()
    starter = record.started_by if record.origin == RunOrigin.CONSOLE else None
    if starter is not None and starter.is_active:
        _once(
            Notice,
            user=starter,
            run=record,
            kind="run_ended",
            level=level,
            text=text,
            url=url,
            created_at=now,
        )
        if starter.email and member_settings(starter).email_my_runs:
            _email(record, starter, now)
            emailed.add(starter.pk)
    if record.category == "failed":
        watchers = (
            get_user_model()
            .objects.filter(is_active=True, console_settings__email_team_failures=True)
            .exclude(email="")
        )
        for member in watchers.exclude(pk__in=emailed):
            _email(record, member, now)
    if TeamWebhook.objects.exists():
        _once(
            Delivery, run=record, channel=DeliveryChannel.WEBHOOK, recipient="team", created_at=now
        )
    jobs.later(jobs.DELIVERIES_FLUSH)


def run_left_drgero(record: RunRecord, *, last_seen: str) -> None:
    """One notice to the member who started a run that Dr.Gero no longer lists (inside the
    transaction that retired it). No email or webhook: nothing ended that anyone can act on."""
    starter = record.started_by if record.origin == RunOrigin.CONSOLE else None
    if starter is None or not starter.is_active:
        return
    name = record.model_name or record.model_id
    _once(
        Notice,
        user=starter,
        run=record,
        kind="run_gone",
        level="warning",
        text=f"Dr.Gero no longer lists the fine-tune run of {name} that you started (the "
        f"console last saw it {last_seen}). It is marked “No longer in Dr.Gero”; a new run "
        "of this model can start.",
        url=run_url(record),
        created_at=timezone.now(),
    )


def _email(record: RunRecord, member: User, now: Any) -> None:
    _once(
        Delivery,
        run=record,
        channel=DeliveryChannel.EMAIL,
        recipient=str(member.pk),
        created_at=now,
    )


ONCE_KEYS = {Notice: ("user", "run", "kind"), Delivery: ("run", "channel", "recipient")}


def _once(model: Any, **fields: Any) -> None:
    """Create the row unless its unique constraint says it exists (another worker's).

    Only that duplicate is expected; any other integrity error (a member or run deleted
    meanwhile) is logged, so a notice is never dropped without a word.
    """
    try:
        with transaction.atomic():
            model.objects.create(**fields)
    except IntegrityError:
        key = {name: fields[name] for name in ONCE_KEYS[model]}
        if model.objects.filter(**key).exists():
            return  # told already, by another writer
        log.exception("could not record a %s about run %s", model.__name__, fields.get("run"))


# In-app notices.


def notices_waiting(user: User) -> bool:
    """Whether the member has an unseen notice: asked on every page, so asked cheaply.

    Written as SQL (the table name from the model) because the ORM spent more Python time
    building this one-row question than the database spent answering it; the
    ``notice_user_seen`` index answers it.
    """
    table = connection.ops.quote_name(Notice._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE user_id = %s AND seen_at IS NULL LIMIT 1",  # noqa: S608
            [user.pk],
        )
        return cursor.fetchone() is not None


def notices_take(user: User, *, limit: int = 5) -> list[Notice]:
    """The member's unseen notices, marked seen: each is shown once, on their next page."""
    if not notices_waiting(user):
        return []
    notices = list(Notice.objects.filter(user=user, seen_at__isnull=True).order_by("pk")[:limit])
    if notices:
        Notice.objects.filter(pk__in=[n.pk for n in notices]).update(seen_at=timezone.now())
    return notices


def notice_add(*, user: User, kind: str, text: str, level: str = "info", url: str = "") -> None:
    Notice.objects.create(
        user=user, kind=kind, text=text, level=level, url=url, created_at=timezone.now()
    )


# Sending.


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
    lines += [
        "",
        f"The run: {settings.CONSOLE_URL}{run_url(record)}",
        f"Run history: {settings.CONSOLE_URL}{history_url(record)}",
        "",
    ]
    lines.append("You can change which emails you get on your account page in the console.")
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


# Choices.


def member_settings(user: User) -> MemberSettings:
    found = MemberSettings.objects.filter(user=user).first()
    return found or MemberSettings(user=user)


def member_settings_save(
    *,
    user: User,
    email: str,
    email_my_runs: bool,
    email_team_failures: bool,
    time_zone: str = "",
    theme: str = "system",
    request: HttpRequest | None = None,
) -> bool:
    """Save the member's choices; a changed address goes through ``emails.email_change``
    (audited, unconfirmed until its mailed link is followed). Returns whether a link was sent."""
    MemberSettings.objects.update_or_create(
        user=user,
        defaults={
            "email_my_runs": email_my_runs,
            "email_team_failures": email_team_failures,
            "time_zone": time_zone,
            "theme": theme,
        },
    )
    return email_change(user=user, email=email, request=request)


# The team webhook.


def webhook_url_problem(url: str) -> str | None:
    """Why a webhook address cannot be used, in plain words; None when it can."""
    return url_problem(url)


@sensitive_variables("url")
def webhook_save(*, actor: User, url: str, request: HttpRequest | None = None) -> str | None:
    """Save the team webhook (encrypted); returns a problem in words, or None."""
    problem = webhook_url_problem(url)
    if problem:
        return problem
    value, key_id = encrypt_secret(url, binding=WEBHOOK_BINDING)
    host = urlsplit(url).hostname or ""
    with transaction.atomic():
        TeamWebhook.objects.update_or_create(
            pk=1,
            defaults={
                "ciphertext": value,
                "key_id": key_id,
                "host": host[:255],
                "saved_by": actor,
                "saved_at": timezone.now(),
            },
        )
        audit_record(
            actor=Actor.of(actor),
            action="team.webhook_set",
            outcome="succeeded",
            target=Target("webhook", "team", host),
            changes={"host": host},
            request=request,
        )
    return None


def webhook_remove(*, actor: User, request: HttpRequest | None = None) -> bool:
    with transaction.atomic():
        deleted, _ = TeamWebhook.objects.filter(pk=1).delete()
        if deleted:
            audit_record(
                actor=Actor.of(actor),
                action="team.webhook_remove",
                outcome="succeeded",
                target=Target("webhook", "team", ""),
                request=request,
            )
    return bool(deleted)


def webhook_status() -> dict[str, Any]:
    """What the Team page shows Admins: where it goes, and recent failures."""
    hook = TeamWebhook.objects.filter(pk=1).first()
    recent = Delivery.objects.filter(channel=DeliveryChannel.WEBHOOK).order_by("-pk")
    failing = list(
        recent.exclude(last_error="").exclude(state=DeliveryState.SENT).select_related("run")[:5]
    )
    return {
        "webhook": hook,
        "webhook_failures": failing,
        "webhook_last_sent": recent.filter(state=DeliveryState.SENT).first(),
    }
