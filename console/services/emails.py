"""A member's email address: changing it, and confirming that it is theirs.

An address counts as confirmed when an Admin gave it in an invitation, the identity provider
vouched for it when it made the account, or the member followed the link the console mailed to
it. The link is signed by ``django.core.signing`` (it expires) and carries a one-use value kept
beside the address it confirms, so it works once, for that member and that address only. Only
a confirmed address is used to link a provider sign-in to an existing account
(``console/signin/entry.py``).
"""

from __future__ import annotations

import enum
import logging
import secrets
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from console.models import ConfirmedEmail
from console.services.audit import Actor, Target, audit_record

log = logging.getLogger(__name__)

SALT = "console.email-confirmation"
LINK_LIFETIME = timedelta(days=2)
RESEND_AFTER = timedelta(seconds=60)  # a second link within a minute is not sent


class Confirmation(enum.Enum):
    CONFIRMED = "Your email address is confirmed."
    EXPIRED = "This confirmation link has expired. Send a new one from Your settings."
    USED = (
        "This confirmation link was already used, or a newer one was sent. Your settings say "
        "whether your address is confirmed."
    )
    OTHER_MEMBER = (
        "This confirmation link is for another member's address. Log out and sign in as that "
        "member to use it."
    )
    BROKEN = "This confirmation link is not valid. Copy the whole link from the email."


def email_state(user: User) -> ConfirmedEmail:
    found = ConfirmedEmail.objects.filter(user=user).first()
    return found or ConfirmedEmail(user=user)


def email_confirmed(user: User) -> bool:
    """Whether the member's current address is one the console verified."""
    return email_state(user).confirms(user.email)


def email_mark_confirmed(user: User, how: str) -> None:
    """An address the console can vouch for without a link (invitation, provider, setup)."""
    if not user.email:
        return
    ConfirmedEmail.objects.update_or_create(
        user=user,
        defaults={"email": user.email, "how": how, "confirmed_at": timezone.now()},
    )


def email_change(
    *, user: User, email: str, request: HttpRequest | None = None, actor: Any = None
) -> bool:
    """Set the member's address (audited, old and new); a new one is unconfirmed until its
    link is followed, and the link is mailed. Returns whether a link was sent."""
    before = user.email
    if email == before:
        return False
    with transaction.atomic():
        user.email = email
        user.save(update_fields=["email"])
        audit_record(
            actor=Actor.of(actor or user),
            action="account.email_change",
            outcome="succeeded",
            target=Target("member", str(user.pk), user.get_username()),
            changes={"before": {"email": before}, "after": {"email": email}},
            request=request,
        )
    if not email or email_confirmed(user):
        return False  # cleared, or back to the address already confirmed
    return confirmation_send(user=user, request=request) is None


def confirmation_link(user: User, email: str, nonce: str) -> str:
    token = signing.dumps({"u": user.pk, "e": email, "n": nonce}, salt=SALT, compress=True)
    return reverse("console:email-confirm", kwargs={"token": token})


def confirmation_send(*, user: User, request: HttpRequest | None = None) -> str | None:
    """Mail a confirmation link to the member's current address; a problem in words, or None."""
    if not user.email:
        return "Enter an email address first."
    state = email_state(user)
    if state.confirms(user.email):
        return "Your address is confirmed already."
    now = timezone.now()
    if (
        state.pending_email.casefold() == user.email.casefold()
        and state.sent_at
        and now - state.sent_at < RESEND_AFTER
    ):
        return "A link was sent to this address less than a minute ago; check your inbox first."
    nonce = secrets.token_urlsafe(16)
    path = confirmation_link(user, user.email, nonce)
    base = (
        request.build_absolute_uri("/").rstrip("/") if request is not None else settings.CONSOLE_URL
    )
    hours = int(LINK_LIFETIME.total_seconds() // 3600)
    body = "\n".join(
        [
            f"Someone, probably you, gave {user.email} as the email address of the member "
            f"{user.get_username()} in Dr.Gero Console.",
            "",
            "Follow this link, signed in as that member, to confirm it:",
            f"{base}{path}",
            "",
            f"The link works once, within {hours} hours. If this was not you, ignore this "
            "email: the address stays unconfirmed.",
            "",
        ]
    )
    if not _mail(user, "Confirm your email address for Dr.Gero Console", body, "confirmation"):
        return "The confirmation email could not be sent just now. Try again in a moment."
    ConfirmedEmail.objects.update_or_create(
        user=user,
        defaults={"pending_email": user.email, "pending_nonce": nonce, "sent_at": now},
    )
    return None


def invitation_send(*, user: User, link: str) -> bool:
    """Mail a new member the one-time link to choose their password; whether it was sent."""
    body = "\n".join(
        [
            f"You were added to Dr.Gero Console as {user.get_username()}.",
            "",
            "Follow this link to choose your password; it works once:",
            link,
            "",
            f"Then log in as {user.get_username()}. If you did not expect this, ignore this email.",
            "",
        ]
    )
    return _mail(user, "You were added to Dr.Gero Console", body, "invitation")


def _mail(user: User, subject: str, body: str, what: str) -> bool:
    """Send one email to the member's address; whether it went (a failure is logged, without
    the address)."""
    try:
        send_mail(subject, body, None, [user.email])
    except (smtplib.SMTPException, OSError) as exc:  # what sending mail raises
        log.warning("%s email for member %s not sent: %s", what, user.pk, type(exc).__name__)
        return False
    return True


def confirmation_use(*, user: User, token: str, request: HttpRequest | None = None) -> Confirmation:
    """Follow a mailed link, signed in as ``user``: confirms the address once."""
    try:
        data = signing.loads(token, salt=SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired:
        return Confirmation.EXPIRED
    except signing.BadSignature:
        return Confirmation.BROKEN
    if not isinstance(data, dict) or not {"u", "e", "n"} <= data.keys():
        return Confirmation.BROKEN
    if data["u"] != user.pk:
        return Confirmation.OTHER_MEMBER
    with transaction.atomic():
        state = ConfirmedEmail.objects.select_for_update().filter(user=user).first()
        if (
            state is None
            or not state.pending_nonce
            or not secrets.compare_digest(state.pending_nonce, str(data["n"]))
            or state.pending_email.casefold() != str(data["e"]).casefold()
            or user.email.casefold() != str(data["e"]).casefold()
        ):
            return Confirmation.USED
        state.email = user.email
        state.how = "link"
        state.confirmed_at = timezone.now()
        state.pending_email = ""
        state.pending_nonce = ""
        state.save()
        audit_record(
            actor=Actor.of(user),
            action="account.email_confirm",
            outcome="succeeded",
            target=Target("member", str(user.pk), user.get_username()),
            changes={"email": user.email},
            request=request,
        )
    return Confirmation.CONFIRMED
