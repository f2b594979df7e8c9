"""The audit core: one function records every change; verification recomputes the chain."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest

from console.logs import redact
from console.models.audit import AuditEvent, AuditOutcome
from console.net import client_ip

if TYPE_CHECKING:
    from console.services.drgero import Problem

logger = logging.getLogger("console.audit")

GENESIS_HASH = "0" * 64
# Any constant works; it only has to be the same in every process of one deployment.
ADVISORY_LOCK_ID = 0x44724765726F  # "DrGero"
SIGNED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_username",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "model_id",
    "changes",
    "outcome",
    "status_code",
    "message",
    "client_ip",
    "user_agent",
    "refers_to_seq",
    "prev_hash",
)
# Keys whose values are never recorded, and any value shaped like a Dr.Gero token.
FORBIDDEN_KEYS = frozenset(
    {"token", "password", "secret", "ciphertext", "authorization", "api_key", "new_password1"}
)


@dataclass(frozen=True)
class Actor:
    """Who acted: a member (id and the username at the time) or the system."""

    user_id: int | None
    username: str

    @classmethod
    def of(cls, user: Any) -> Actor:
        if user is None or not getattr(user, "is_authenticated", False):
            return cls(None, "system")
        return cls(user.pk, user.get_username())


SYSTEM = Actor(None, "system")


@dataclass(frozen=True)
class Target:
    type: str = ""
    id: str = ""
    name: str = ""
    model_id: str = ""


def canonical_text(values: dict[str, Any]) -> str:
    """Sorted-key JSON of the signed fields; times in UTC to the microsecond."""
    data = {key: values[key] for key in SIGNED_FIELDS}
    created = data["created_at"]
    if isinstance(created, datetime):
        data["created_at"] = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    data["changes"] = json.loads(data["changes"]) if isinstance(data["changes"], str) else {}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(key_id: str, text: str) -> str:
    key = settings.CONSOLE_AUDIT_KEYS[key_id]
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _clean_changes(changes: dict[str, Any] | None) -> str:
    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: ("[withheld]" if str(k).lower() in FORBIDDEN_KEYS else scrub(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str):
            return redact(value)
        return value

    return json.dumps(scrub(changes or {}), sort_keys=True, default=str, ensure_ascii=False)


def audit_record(
    *,
    actor: Actor,
    action: str,
    outcome: str,
    target: Target | None = None,
    changes: dict[str, Any] | None = None,
    status_code: int | None = None,
    message: str = "",
    request: HttpRequest | None = None,
    refers_to: AuditEvent | None = None,
) -> AuditEvent:
    """Append one event to the chain. Every state-changing action calls this, and only this.

    Appends are serialised (an advisory lock on PostgreSQL, the write lock on SQLite), so
    concurrent workers never fork the chain. Keys whose names speak of tokens, passwords or
    secrets are withheld from ``changes``.
    """
    if outcome not in AuditOutcome.values:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    target = target or Target()
    key_id = next(iter(settings.CONSOLE_AUDIT_KEYS))
    values: dict[str, Any] = {
        "actor_id": actor.user_id,
        "actor_username": actor.username[:150],
        "action": action,
        "target_type": target.type,
        "target_id": str(target.id)[:128],
        "target_name": str(target.name)[:300],
        "model_id": str(target.model_id or (target.id if target.type == "model" else ""))[:128],
        "changes": _clean_changes(changes),
        "outcome": outcome,
        "status_code": status_code,
        "message": message[:2000],
        "client_ip": client_ip(request) if request is not None else None,
        "user_agent": request.headers.get("User-Agent", "")[:300] if request is not None else "",
        "refers_to_seq": refers_to.seq if refers_to is not None else None,
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_ID])
        last = AuditEvent.objects.order_by("-seq").values("seq", "mac").first()
        values["seq"] = (last["seq"] + 1) if last else 1
        values["prev_hash"] = last["mac"] if last else GENESIS_HASH
        values["created_at"] = datetime.now(UTC)
        text = canonical_text(values)
        event = AuditEvent(**values, canonical=text, mac=sign(key_id, text), key_id=key_id)
        event.save(force_insert=True)
    transaction.on_commit(lambda: record_head(event.seq, event.mac))
    return event


def audit_attempt(
    *,
    user: Any,
    action: str,
    target: Target,
    problem: Problem | None,
    changes: dict[str, Any],
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Record an attempt to change Dr.Gero: succeeded, or how it failed (``problem``)."""
    return audit_record(
        actor=Actor.of(user),
        action=action,
        outcome=problem.audit_outcome if problem else "succeeded",
        target=target,
        changes=changes,
        status_code=problem.drgero_status if problem else None,
        message=problem.message if problem else "",
        request=request,
    )


def head_path() -> Path:
    return Path(settings.CONSOLE_AUDIT_HEAD_FILE)


def record_head(seq: int, mac: str) -> None:
    """Write the newest (seq, hash) outside the table, so a removed tail is detectable."""
    logger.info("audit head seq=%s hash=%s", seq, mac)
    path = head_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_suffix(".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_head()
        if current is not None and current[0] >= seq:
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seq": seq, "hash": mac}))
        os.replace(tmp, path)


def read_head() -> tuple[int, str] | None:
    try:
        data = json.loads(head_path().read_text())
        return int(data["seq"]), str(data["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class HeadUnreadable(Exception):
    """The recorded head file exists but says nothing the console can read."""


def _recorded_head() -> tuple[int, str] | None:
    """The recorded head; None when there is no head file; HeadUnreadable when it is damaged."""
    path = head_path()
    if not path.exists():
        return None
    head = read_head()
    if head is None:
        raise HeadUnreadable
    return head


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    bad_seq: int | None = None


def _row_values(event: AuditEvent) -> dict[str, Any]:
    values = {name: getattr(event, name) for name in SIGNED_FIELDS}
    return values


def audit_verify(
    *, check_head: bool = True, accept_missing_head: bool = False, batch: int = 5000
) -> VerifyResult:
    """Recompute the chain and every signature; name the first bad event.

    The newest event must match the head recorded outside the table. A missing head file is a
    failure too (the whole tail could have gone with it), unless ``accept_missing_head`` says
    this is knowingly a fresh replica.
    """
    expected_seq, prev = 1, GENESIS_HASH
    checked = 0
    ring = settings.CONSOLE_AUDIT_KEYS
    for event in _in_order(batch):
        if event.seq != expected_seq:
            return VerifyResult(
                False,
                checked,
                f"event #{expected_seq} is missing (found #{event.seq} next)",
                expected_seq,
            )
        if event.key_id not in ring:
            return VerifyResult(
                False,
                checked,
                f"event #{event.seq} is signed with unknown key {event.key_id}",
                event.seq,
            )
        if not hmac.compare_digest(sign(event.key_id, event.canonical), event.mac):
            return VerifyResult(
                False, checked, f"event #{event.seq}: signature mismatch", event.seq
            )
        if canonical_text(_row_values(event)) != event.canonical:
            return VerifyResult(
                False,
                checked,
                f"event #{event.seq}: its fields differ from what was signed",
                event.seq,
            )
        if event.prev_hash != prev:
            return VerifyResult(False, checked, f"event #{event.seq}: chain link broken", event.seq)
        prev, expected_seq, checked = event.mac, expected_seq + 1, checked + 1
    if check_head:
        try:
            head = _recorded_head()
        except HeadUnreadable:
            return VerifyResult(
                False, checked, f"the recorded head in {head_path()} cannot be read", None
            )
        if head is None and checked and not accept_missing_head:
            return VerifyResult(
                False,
                checked,
                f"there is no recorded head ({head_path()}), so removed newest events could "
                "not be noticed; on a fresh replica, accept this with --accept-missing-head",
                None,
            )
        if head is not None:
            seq, mac = head
            if seq >= expected_seq:
                return VerifyResult(
                    False,
                    checked,
                    f"the recorded head is #{seq} but the log ends at #{expected_seq - 1}: "
                    "newest events were removed",
                    expected_seq,
                )
            if seq == expected_seq - 1 and mac != prev:
                return VerifyResult(
                    False, checked, f"event #{seq} differs from the recorded head", seq
                )
    return VerifyResult(True, checked)


def _in_order(batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
