"""Members' Dr.Gero tokens: check with harmless reads, store encrypted, build clients."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from console import jobs
from console.crypto import TokenUnavailableError, decrypt_token, encrypt_token
from console.models import DrGeroToken
from console.selectors.tokens import (
    forget_token_record,
    token_record,
)
from console.services.audit import Actor, Target, audit_record
from console.services.drgero import (
    NO_TOKEN,
    TOKEN_UNREADABLE,
    Outcome,
    Problem,
    ProblemKind,
    build_client,
    explain,
)
from drgero_client import (
    AuthenticationError,
    DrGeroClient,
    DrGeroError,
    PermissionDeniedError,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

CHECKED_SCOPES = ("models:read", "leaderboards:read", "base_models")
TOKEN_PREFIX = "drgero_"  # noqa: S105  (a prefix, not a secret)
MAX_TOKEN_LENGTH = 512


class NoTokenError(Exception):
    """The member has not saved a Dr.Gero token."""


@dataclass(frozen=True)
class TokenCheck:
    """What a harmless check found the token can do."""

    capabilities: dict[str, bool]

    def sentences(self) -> list[str]:
        return capability_sentences(self.capabilities)


def capability_sentences(capabilities: dict[str, Any]) -> list[str]:
    def yes(key: str) -> bool:
        return bool(capabilities.get(key))

    lines = [
        "Can read models: "
        + (
            "yes."
            if yes("models:read")
            else "no — the model pages will be empty until a token with models:read is added."
        ),
        "Can list leaderboards: "
        + (
            "yes."
            if yes("leaderboards:read")
            else "no — the model form will ask for leaderboard ids instead."
        ),
        "Can list base models: " + ("yes." if yes("base_models") else "no."),
    ]
    refused = set(capabilities.get("refused", []))
    for what, scope in (
        ("Can start fine-tune runs and ask Dr.Gero for their updates", "models:fine-tune"),
        ("Can create, edit and delete models and change schedules", "models:write"),
    ):
        if scope in refused:
            lines.append(f"{what}: no — Dr.Gero refused it (the token lacks {scope}).")
        else:
            lines.append(
                f"{what}: not checked in advance, because checking would change something; "
                f"it needs {scope}, and if Dr.Gero refuses, the console says so and turns "
                "those buttons off."
            )
    return lines


@sensitive_variables("token")
def token_check(token: str) -> Outcome[TokenCheck]:
    """Try the token with reads only: one model, one leaderboard, the base models.

    A 401 or an unanswered check is a problem (nothing is saved); a 403 on one read just
    means the token lacks that scope.
    """
    client = build_client(token)
    probes = {
        "models:read": lambda c: c.list_models(limit=1),
        "leaderboards:read": lambda c: c.list_leaderboards(limit=1),
        "base_models": lambda c: c.list_base_models(),
    }
    found: dict[str, bool] = {}
    for name, probe in probes.items():
        try:
            probe(client)
            found[name] = True
        except PermissionDeniedError:
            found[name] = False
        except AuthenticationError:
            return Outcome(
                problem=Problem(
                    ProblemKind.TOKEN_REJECTED,
                    "Dr.Gero did not accept this token: it may be mistyped, expired or "
                    "revoked. It was not saved.",
                    422,
                    401,
                )
            )
        except DrGeroError as exc:
            problem = explain(exc)
            return Outcome(
                problem=Problem(
                    ProblemKind.UNAVAILABLE,
                    "Dr.Gero did not answer while checking the token, so it was not saved; "
                    "try again.",
                    422,
                    problem.drgero_status,
                )
            )
    return Outcome(value=TokenCheck(found))


TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")


def validate_token_text(token: str) -> str | None:
    """A plain-language reason the pasted text can't be a token, or None."""
    if not token:
        return "Paste your Dr.Gero token."
    if any(ch in " \t\r\n\v\f" for ch in token):
        return "A token has no spaces or line breaks; paste it again."
    if not TOKEN_CHARACTERS.fullmatch(token):
        # A zero-width or non-breaking space, or any other character a copy can bring along,
        # would otherwise reach the Authorization header and fail there.
        return (
            "A Dr.Gero token is letters, digits, _ and - only. Something else came along "
            "with the copy (an invisible space or a curly quote, perhaps); paste it again."
        )
    if not token.startswith(TOKEN_PREFIX):
        return "Dr.Gero tokens start with drgero_. Copy it again from Dr.Gero's Settings → Tokens."
    if len(token) > MAX_TOKEN_LENGTH or len(token) <= len(TOKEN_PREFIX) + 3:
        return "That does not look like a whole Dr.Gero token; paste it again."
    return None


@sensitive_variables("token", "value")
def token_save(
    *, user: User, token: str, label: str, request: HttpRequest | None = None
) -> Outcome[TokenCheck]:
    """Check the token, then store it encrypted and record ``token.set``."""
    checked = token_check(token)
    if not checked.ok:
        audit_record(
            actor=Actor.of(user),
            action="token.set",
            outcome="failed",
            target=_target(user),
            changes={"label": label},
            status_code=checked.problem.drgero_status if checked.problem else None,
            message=checked.problem.message if checked.problem else "",
            request=request,
        )
        return checked
    if checked.value is None:  # an Outcome without a problem always has a value
        raise RuntimeError("token check returned neither a value nor a problem")
    value, key_id = encrypt_token(token, user_id=user.pk)
    now = timezone.now()
    with transaction.atomic():
        existing = DrGeroToken.objects.filter(user=user).first()
        DrGeroToken.objects.update_or_create(
            user=user,
            defaults={
                "ciphertext": value,
                "key_id": key_id,
                "label": label,
                "hint": token[-4:],
                "saved_at": now,
                "checked_at": now,
                "capabilities": checked.value.capabilities,
                "refused_scopes": [],
                "read_at": None,
            },
        )
        jobs.later(jobs.DISCOVER_FOR_MEMBER, user.pk)
    forget_token_record(user)
    audit_record(
        actor=Actor.of(user),
        action="token.set",
        outcome="succeeded",
        target=_target(user),
        changes={
            "replaced": existing is not None,
            "label": label,
            "capabilities": checked.value.capabilities,
        },
        request=request,
    )
    return checked


READING_WINDOW = timedelta(minutes=2)  # how long "Reading what your token can see…" may show


def token_reading(user: User) -> bool:
    """Whether the worker is still reading what the member's new token sees."""
    record = token_record(user)
    return bool(
        record is not None
        and record.read_at is None
        and record.saved_at > timezone.now() - READING_WINDOW
    )


def token_recheck(*, user: User, request: HttpRequest | None = None) -> Outcome[TokenCheck]:
    """Check the saved token again and refresh what it can do."""
    record = token_record(user)
    if record is None:
        return Outcome(problem=NO_TOKEN)
    try:
        checked = token_check(decrypt_token(record.ciphertext, user_id=user.pk))
    except TokenUnavailableError:
        return Outcome(problem=TOKEN_UNREADABLE)
    if checked.ok and checked.value is not None:
        DrGeroToken.objects.filter(pk=record.pk).update(
            checked_at=timezone.now(), capabilities=checked.value.capabilities, refused_scopes=[]
        )
        forget_token_record(user)
    audit_record(
        actor=Actor.of(user),
        action="token.check",
        outcome="succeeded" if checked.ok else "failed",
        target=_target(user),
        changes={"capabilities": checked.value.capabilities} if checked.value else {},
        status_code=checked.problem.drgero_status if checked.problem else None,
        message=checked.problem.message if checked.problem else "",
        request=request,
    )
    return checked


def token_remove(
    *, user: User, actor: User | None = None, request: HttpRequest | None = None
) -> bool:
    """Delete the member's token; ``actor`` is who did it (the member, or an Admin)."""
    deleted, _ = DrGeroToken.objects.filter(user=user).delete()
    forget_token_record(user)
    if deleted:
        audit_record(
            actor=Actor.of(actor or user),
            action="token.remove",
            outcome="succeeded",
            target=_target(user),
            request=request,
        )
    return bool(deleted)


@sensitive_variables("token")
def client_for(user: User) -> DrGeroClient:
    """The member's own client. Raises NoTokenError or TokenUnavailableError."""
    record = token_record(user)
    if record is None:
        raise NoTokenError
    token = decrypt_token(record.ciphertext, user_id=user.pk)
    return build_client(token)


def token_note_refusal(*, user: User, scope: str | None) -> None:
    """Remember a scope Dr.Gero refused on a write, so matching buttons can say why."""
    if not scope:
        return
    record = token_record(user)
    if record is not None and scope not in record.refused_scopes:
        DrGeroToken.objects.filter(pk=record.pk).update(
            refused_scopes=[*record.refused_scopes, scope]
        )
        forget_token_record(user)


def _target(user: User) -> Target:
    return Target(type="member", id=str(user.pk), name=user.get_username())


def member_client(user: User) -> Outcome[DrGeroClient]:
    """The member's client, or the problem that stops it (no token, unreadable token)."""
    try:
        return Outcome(value=client_for(user))
    except NoTokenError:
        return Outcome(problem=NO_TOKEN)
    except TokenUnavailableError:
        return Outcome(problem=TOKEN_UNREADABLE)


def member_call(
    user: User,
    fn: Callable[[DrGeroClient], T],
    *,
    write: bool = False,
    what: str = "model",
    scope: str | None = None,
) -> Outcome[T]:
    """Call Dr.Gero with the member's token; every failure becomes a plain-language problem.

    A 403 on a write is remembered on the member's token, so the matching buttons can say why
    they are disabled until the token is replaced or re-checked.
    """
    got = member_client(user)
    if got.value is None:
        return Outcome(problem=got.problem)
    try:
        return Outcome(value=fn(got.value))
    except DrGeroError as exc:
        problem = explain(exc, write=write, what=what, scope=scope)
        if write and problem.kind == "scope":
            token_note_refusal(user=user, scope=problem.missing_scope)
        return Outcome(problem=problem)
