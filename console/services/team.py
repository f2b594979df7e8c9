"""Team administration: members, roles, deactivation — every change audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from console.roles import GROUP_ROLES, Role, role_of
from console.selectors.team import ROLE_GROUP, active_admins, role_label
from console.services.audit import SYSTEM, Actor, Target, audit_record
from console.services.emails import email_mark_confirmed


class TeamRuleError(Exception):
    """A team change that would break a rule (the last Admin, deactivating oneself)."""


PROVIDER = Actor(None, "identity provider")  # who acts when the identity provider decides


@dataclass(frozen=True)
class NewMember:
    user: User
    initial_password: str | None
    set_password_path: str | None


def set_role_groups(user: User, role: Role | None) -> None:
    user.groups.remove(*Group.objects.filter(name__in=GROUP_ROLES))
    if role is not None:
        # get_or_create: the migration makes the groups, but a flushed test database has none.
        user.groups.add(Group.objects.get_or_create(name=ROLE_GROUP[role])[0])
    if hasattr(user, "_console_role"):
        del user._console_role


def _member_target(user: User) -> Target:
    return Target("member", str(user.pk), user.get_username())


def active_admin_count(*, excluding: Any = None) -> int:
    admins = active_admins()
    if excluding is not None:
        admins = admins.exclude(pk=excluding.pk)
    return admins.count()


def member_add(
    *,
    actor: User | Actor,
    username: str,
    email: str,
    role: Role,
    password: str | None,
    request: HttpRequest | None = None,
) -> NewMember:
    """Add a member with a role: an Admin on the Team page, or the identity provider vouching
    for someone from an allowed domain (``actor=PROVIDER``). An Admin adding a member without a
    password gets a one-time set-password link; the provider's members sign in there only."""
    User = get_user_model()  # noqa: N806
    by_provider = actor == PROVIDER
    # The change and its audit event commit together, or neither does.
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        set_role_groups(user, role)
        # An Admin gave the address, or the provider vouched for it: either way it is confirmed.
        email_mark_confirmed(user, "provider" if by_provider else "invitation")
        link = None
        if not password and not by_provider:
            uid = urlsafe_base64_encode(force_bytes(user.pk))
            link = reverse(
                "console:set-password",
                kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)},
            )
        after: dict[str, Any] = (
            {"role": role.label, "source": "identity provider"}
            if by_provider
            else {
                "username": username,
                "email": email,
                "role": role.label,
                "set_password_link": link is not None,
            }
        )
        audit_record(
            actor=actor if isinstance(actor, Actor) else Actor.of(actor),
            action="team.member_add",
            outcome="succeeded",
            target=_member_target(user),
            changes={"after": after},
            request=request,
        )
    return NewMember(user, password, link)


def member_set_role(
    *, actor: User, member: User, role: Role, request: HttpRequest | None = None
) -> None:
    """Change a member's role; the last active Admin can't be demoted."""
    before = role_label(member)
    if role != Role.ADMIN and role_of(member) == Role.ADMIN and member.is_active:
        if active_admin_count(excluding=member) == 0:
            raise TeamRuleError("This is the last Admin; make someone else an Admin first.")
        if member.is_superuser:
            raise TeamRuleError("This member is a superuser and always counts as an Admin.")
    _role_change(member, role, Actor.of(actor), before=before, request=request)


def member_role_from_provider(
    *, member: User, role: Role, request: HttpRequest | None = None
) -> None:
    """The role the identity provider's groups give, set at sign-in. The provider is where
    roles are decided then, so the Team page's rules (the last Admin) do not apply; the change
    is audited as one made on the Team page, with the provider as its source."""
    if role_of(member) != role:
        _role_change(member, role, PROVIDER, before=role_label(member), request=request)


def _role_change(
    member: User, role: Role, actor: Actor, *, before: str, request: HttpRequest | None
) -> None:
    changes: dict[str, Any] = {"before": {"role": before}, "after": {"role": role.label}}
    if actor == PROVIDER:
        changes["source"] = "identity provider"
    with transaction.atomic():
        set_role_groups(member, role)
        audit_record(
            actor=actor,
            action="team.role_change",
            outcome="succeeded",
            target=_member_target(member),
            changes=changes,
            request=request,
        )


def member_deactivate(*, actor: User, member: User, request: HttpRequest | None = None) -> None:
    """Deactivate a member and delete their Dr.Gero token."""
    from console.models import DrGeroToken

    if member.pk == actor.pk:
        raise TeamRuleError("You can't deactivate yourself; ask another Admin.")
    if role_of(member) == Role.ADMIN and active_admin_count(excluding=member) == 0:
        raise TeamRuleError("This is the last Admin; make someone else an Admin first.")
    with transaction.atomic():
        had_token = DrGeroToken.objects.filter(user=member).delete()[0] > 0
        if hasattr(member, "_console_token_record"):
            del member._console_token_record
        member.is_active = False
        member.save(update_fields=["is_active"])
        audit_record(
            actor=Actor.of(actor),
            action="team.deactivate",
            outcome="succeeded",
            target=_member_target(member),
            changes={
                "before": {"active": True, "saved_token": "set" if had_token else "missing"},
                "after": {"active": False, "saved_token": "deleted" if had_token else "missing"},
            },
            request=request,
        )


def demo_account_ensure(
    *, username: str, password: str, token: str, email: str = ""
) -> tuple[Any, bool]:
    """Create the demo Admin with its sandbox token when missing (demo mode only)."""
    from console.services.tokens import token_save

    User = get_user_model()  # noqa: N806
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is None:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email=email)
            set_role_groups(user, Role.ADMIN)
        audit_record(
            actor=SYSTEM,
            action="team.member_add",
            outcome="succeeded",
            target=_member_target(user),
            changes={"after": {"username": username, "role": "Admin", "demo": True}},
        )
    if email and not user.email:
        user.email = email  # so the demo shows what run-end emails would say
        user.save(update_fields=["email"])
        email_mark_confirmed(user, "setup")
    if not hasattr(user, "drgero_token"):
        token_save(user=user, token=token, label="Sandbox demo token")
    return user, created
