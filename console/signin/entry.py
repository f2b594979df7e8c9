"""Who may enter through the team's identity provider, as whom, and with which role.

What the provider vouched for (its claims) meets the console's members here: the member linked
to the provider's subject; the member who, signed in with their password, chose to link their
account; an account the console may link by an address it confirmed; or, from an allowed
domain, a new Viewer. Everyone else is refused, with the Admins named. Talking to the provider
is ``console/signin/provider.py``'s job.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from console.roles import Role
from console.selectors.team import admin_names, ask_admins
from console.services.audit import Actor, Target, audit_record
from console.services.team import PROVIDER, member_add, member_role_from_provider

log = logging.getLogger(__name__)


# "Link my account": the signed-in member's choice, kept in their session while they sign in at
# the provider; it must come back to the same session, signed in as the same member, in time.
LINK_KEY = "console_link_member"
LINK_TTL = 600.0


class Refused(Exception):
    """The provider vouched for someone the console does not let in; the message says why."""


def refusal_words(reason: str) -> str:
    return f"{reason} If you need access, {ask_admins(admin_names())}."


@dataclass(frozen=True)
class Claims:
    subject: str
    email: str
    email_verified: bool
    groups: list[str]
    name: str

    @classmethod
    def of(cls, merged: dict[str, Any]) -> Claims:
        claim = settings.CONSOLE_OIDC_ROLE_CLAIM
        raw = merged.get(claim, []) if claim else []
        groups = [raw] if isinstance(raw, str) else [str(g) for g in raw or [] if g is not None]
        verified = merged.get("email_verified")
        return cls(
            subject=str(merged.get("sub", "")),
            email=str(merged.get("email") or "").strip(),
            email_verified=verified is True or str(verified).lower() == "true",
            groups=groups,
            name=str(merged.get("preferred_username") or merged.get("name") or ""),
        )

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower() if "@" in self.email else ""


def mapped_role(groups: list[str]) -> Role | None:
    """The highest role CONSOLE_OIDC_ROLE_MAP gives these groups; None when none maps."""
    roles = [
        Role[settings.CONSOLE_OIDC_ROLE_MAP[g].upper()]
        for g in groups
        if g in settings.CONSOLE_OIDC_ROLE_MAP
    ]
    return max(roles) if roles else None


class Entrance:
    """One sign-in's way in: ``member`` finds (or makes) the member, ``apply_role`` sets the
    role the provider's groups give."""

    def __init__(self, request: Any) -> None:
        self.request = request

    def member(self, claims: Claims) -> Any:
        """The member this sign-in is: the one linked to this subject; the member who asked,
        signed in with their password, to link their account; or an account the console
        may link by a confirmed address; or, from an allowed domain, a new Viewer."""
        from console.models import MemberIdentity

        if not claims.subject:
            raise Refused("The identity provider did not say who you are.")
        issuer = settings.CONSOLE_OIDC_ISSUER.rstrip("/")  # one key, however it is written
        now = timezone.now()
        owner = self._link_intent()
        known = (
            MemberIdentity.objects.select_related("user")
            .filter(issuer=issuer, subject=claims.subject)
            .first()
        )
        if known is not None:
            if owner is not None and owner.pk != known.user_id:
                raise Refused(
                    f"This {settings.CONSOLE_OIDC_NAME} account is already linked to another "
                    "member of the console, so it was not linked to yours."
                )
            known.last_seen_at = now
            known.email = claims.email
            known.save(update_fields=["last_seen_at", "email"])
            return self._active(known.user)
        if owner is not None:
            return self._link_owner(owner, claims, issuer, now)
        users = get_user_model().objects
        if claims.email and claims.email_verified:
            same_address = list(users.filter(email__iexact=claims.email).order_by("pk"))
            invited = next((u for u in same_address if self._linkable(u, claims.email)), None)
            if invited is not None:
                self._link(invited, claims, issuer, now)
                return self._active(invited)
            if same_address:
                raise Refused(
                    f"An account in this console already uses {claims.email}, and the console "
                    "cannot tell that it is yours. If it is, log in with its password and choose "
                    f"“Link my account to {settings.CONSOLE_OIDC_NAME}” on Your settings."
                )
        allowed = settings.CONSOLE_OIDC_ALLOWED_DOMAINS
        if not (claims.email_verified and claims.domain and claims.domain in allowed):
            who = claims.email or "this account"
            raise Refused(f"The console does not know {who}.")
        with transaction.atomic():  # the member, their link and the audit event, or nothing
            user = member_add(
                actor=PROVIDER,
                username=self._free_username(claims),
                email=claims.email,
                role=Role.VIEWER,
                password=None,
                request=self.request,
            ).user
            self._link(user, claims, issuer, now)
        return user

    @staticmethod
    def _linkable(user: Any, email: str) -> bool:
        """An account the console may link by address alone: not linked yet, its address
        confirmed by the console (an Admin's invitation, or the member's mailed link), and no
        password of its own, whose owner would otherwise have to prove both."""
        from console.services.emails import email_state

        return (
            not hasattr(user, "console_identity")
            and not user.has_usable_password()
            and email_state(user).confirms(email)
        )

    def _link_intent(self) -> Any:
        """The signed-in member who chose "Link my account" a moment ago, in this browser."""
        intent = self.request.session.pop(LINK_KEY, None)
        user = getattr(self.request, "user", None)
        if not isinstance(intent, dict) or user is None or not user.is_authenticated:
            return None
        if intent.get("user") != user.pk or time.time() - float(intent.get("at", 0)) > LINK_TTL:
            return None
        return user

    def _link_owner(self, owner: Any, claims: Claims, issuer: str, now: Any) -> Any:
        from console.models import MemberIdentity

        if MemberIdentity.objects.filter(user=owner).exists():
            raise Refused(f"Your account is already linked to {settings.CONSOLE_OIDC_NAME}.")
        with transaction.atomic():
            self._link(owner, claims, issuer, now)
            audit_record(
                actor=Actor.of(owner),
                action="account.link",
                outcome="succeeded",
                target=Target("member", str(owner.pk), owner.get_username()),
                changes={"provider": settings.CONSOLE_OIDC_NAME, "provider_email": claims.email},
                request=self.request,
            )
        return self._active(owner)

    @staticmethod
    def _link(user: Any, claims: Claims, issuer: str, now: Any) -> None:
        """Remember who this member is at the provider, for their next sign-ins."""
        from console.models import MemberIdentity

        MemberIdentity.objects.create(
            user=user,
            issuer=issuer,
            subject=claims.subject,
            email=claims.email,
            first_seen_at=now,
            last_seen_at=now,
        )

    @staticmethod
    def _active(user: Any) -> Any:
        if not user.is_active:
            raise Refused("Your account in this console is deactivated.")
        return user

    @staticmethod
    def _free_username(claims: Claims) -> str:
        base = (claims.email.partition("@")[0] or claims.name or "member")[:140]
        base = "".join(c for c in base if c.isalnum() or c in "._-+") or "member"
        taken = set(
            get_user_model()
            .objects.filter(username__startswith=base)
            .values_list("username", flat=True)
        )
        if base not in taken:
            return base
        return next(f"{base}{n}" for n in range(2, 10_000) if f"{base}{n}" not in taken)

    def apply_role(self, user: Any, claims: Claims) -> None:
        """With CONSOLE_OIDC_ROLE_CLAIM and a role map, each sign-in sets the role from the
        provider; a role it no longer grants goes (down to Viewer). Audited as on the Team page,
        with the provider as the source."""
        from console.models import MemberIdentity

        if not (settings.CONSOLE_OIDC_ROLE_CLAIM and settings.CONSOLE_OIDC_ROLE_MAP):
            return
        if user.is_superuser:
            return  # a superuser is always an Admin; the provider neither grants nor removes it
        MemberIdentity.objects.filter(user=user).update(role_from_provider=True)
        member_role_from_provider(
            member=user, role=mapped_role(claims.groups) or Role.VIEWER, request=self.request
        )


def link_intent_set(request: HttpRequest) -> None:
    """The signed-in member chose "Link my account to <provider>"; ``ProviderSignIn`` follows."""
    request.session[LINK_KEY] = {"user": request.user.pk, "at": time.time()}
