"""What a run's end means for people, and the in-app notices.

``run_ended`` is called once per run end, inside the transaction that recorded it; it writes
the notices and one ``Delivery`` row per email or webhook call (unique per run, channel and
recipient), which ``services/deliveries.py`` sends after the commit. The team webhook's
address and its rule are ``services/webhook.py``'s; each member's choices,
``services/member_settings.py``'s.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from console import jobs
from console.models import (
    Delivery,
    DeliveryChannel,
    Notice,
    RunOrigin,
    RunRecord,
    TeamWebhook,
)
from console.services.member_settings import member_settings
from console.vocabulary import duration_phrase, one_line

log = logging.getLogger(__name__)

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


def notices_state(user: User) -> tuple[bool, int]:
    """Whether the member has a notice not shown yet, and how many are unread: asked on every
    page, so asked in one cheap query.

    Written as SQL (the table name from the model) because the ORM spent more Python time
    building this one-row question than the database spent answering it. A notice not shown
    yet is unread too, so the ``notice_user_read`` index answers both.
    """
    table = connection.ops.quote_name(Notice._meta.db_table)
    with connection.cursor() as cursor:
        not_shown = "COALESCE(SUM(CASE WHEN seen_at IS NULL THEN 1 ELSE 0 END), 0)"
        cursor.execute(
            f"SELECT COUNT(*), {not_shown} FROM {table} WHERE user_id = %s AND read_at IS NULL",  # noqa: S608
            [user.pk],
        )
        unread, unseen = cursor.fetchone() or (0, 0)
    return bool(unseen), int(unread)


def notices_unread(user: User) -> int:
    return notices_state(user)[1]


def notices_take(user: User, *, limit: int = 5) -> tuple[list[Notice], int]:
    """The member's notices not shown yet, marked seen (each is shown once, on their next
    page), and how many of theirs are unread (they stay so until read in the inbox).

    The state read with the member for this request (console.signin.backends) is used, once,
    instead of asking again."""
    carried = getattr(user, "_console_notices", None)
    if carried is not None:
        del user._console_notices  # type: ignore[attr-defined]  # read as the request began
    waiting, unread = carried if carried is not None else notices_state(user)
    if not waiting:
        return [], unread
    notices = list(
        Notice.objects.filter(user=user, seen_at__isnull=True)
        .select_related("run")
        .order_by("pk")[:limit]
    )
    if notices:
        Notice.objects.filter(pk__in=[n.pk for n in notices]).update(seen_at=timezone.now())
    return notices, unread


def notice_title(notice: Notice) -> str:
    """What the tab's title says of a notice: ``Billing Helper: run failed``."""
    run = notice.run
    if run is None:
        return ""
    name = one_line(run.model_name or run.model_id, 60)
    if notice.kind == "run_gone":
        return f"{name}: run no longer in Dr.Gero"
    outcome = {"succeeded": "run succeeded", "failed": "run failed"}.get(run.category)
    return f"{name}: {outcome or 'run ended'}"


def notices_read(user: User, *, run_id: str | None = None) -> int:
    """Mark the member's unread notices read (those about one run, or all); how many."""
    now = timezone.now()
    unread = Notice.objects.filter(user=user, read_at__isnull=True)
    if run_id is not None:
        unread = unread.filter(run__run_id=run_id)
    return unread.update(read_at=now, seen_at=Coalesce("seen_at", Value(now)))


def notice_add(*, user: User, kind: str, text: str, level: str = "info", url: str = "") -> None:
    Notice.objects.create(
        user=user, kind=kind, text=text, level=level, url=url, created_at=timezone.now()
    )


# Sending.
