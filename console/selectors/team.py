"""The Team page's reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet

from console.roles import GROUP_ROLES, ROLE_CAN, Role, remember_role, role_of
from console.selectors.compiled import Compiled
from console.selectors.tokens import remember_token_records, token_status

ROLE_GROUP = {role: name for name, role in GROUP_ROLES.items()}


def role_label(user: User) -> str:
    role = role_of(user)
    return role.label if role else "No role"


def active_admins() -> QuerySet[User]:
    """The team's active Admins; superusers count as Admins."""
    users = get_user_model().objects.filter(is_active=True)
    admins = users.filter(groups__name=ROLE_GROUP[Role.ADMIN]) | users.filter(is_superuser=True)
    return admins.distinct()


def team_members() -> list[dict[str, Any]]:
    """Every member, active first, with their role and whether their token is set."""
    users = list(
        get_user_model()
        .objects.order_by("-is_active", "username")
        .prefetch_related("groups")
        .select_related("console_identity", "console_email")
    )
    # Roles and token rows for the whole list in two queries, not two per member.
    remember_token_records(users)
    for user in users:
        remember_role(user, [g.name for g in user.groups.all()])
    return [
        {
            "user": u,
            "role": role_label(u),
            "role_key": (role_of(u) or Role.VIEWER).name.lower(),
            "token": token_status(u),
            "managed": role_managed_by_provider(u),
            "email_confirmed": _confirmed(u),
        }
        for u in users
    ]


def _confirmed(user: Any) -> bool:
    state = getattr(user, "console_email", None)
    return bool(state is not None and state.confirms(user.email))


def account_email_status(user: Any) -> dict[str, Any]:
    """What *Your settings* says of the member's address and of their provider link."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    member = (  # the address's state and the provider link in one query
        get_user_model().objects.select_related("console_email", "console_identity").get(pk=user.pk)
    )
    state = getattr(member, "console_email", None)
    identity = getattr(member, "console_identity", None)
    pending = (
        state.sent_at
        if state and user.email and state.pending_email.casefold() == user.email.casefold()
        else None
    )
    return {
        "email_confirmed": bool(state and state.confirms(user.email)),
        "email_link_sent_at": pending,
        "provider_on": bool(settings.CONSOLE_OIDC_ISSUER),
        "provider_name": settings.CONSOLE_OIDC_NAME,
        "linked": identity is not None,
        "provider_email": identity.email if identity else "",
    }


def role_managed_by_provider(user: Any) -> bool:
    """The identity provider sets this member's role (CONSOLE_OIDC_ROLE_CLAIM), so the Team
    page shows it as the provider's and does not change it by hand."""
    from django.conf import settings

    if not (settings.CONSOLE_OIDC_ISSUER and settings.CONSOLE_OIDC_ROLE_CLAIM):
        return False
    identity = getattr(user, "console_identity", None)
    return bool(identity and identity.role_from_provider and not user.is_superuser)


# Asked by every page that says whom to ask for a role: compiled once.
_ADMIN_NAMES = Compiled(
    get_user_model(),
    lambda: active_admins().order_by("username").values_list("username", flat=True),
    str,
)


def admin_names() -> list[str]:
    """The usernames of the team's active Admins (superusers count), for "ask …" notes."""
    return [name for (name,) in _ADMIN_NAMES.tuples()]


def ask_admins(names: list[str]) -> str:
    """Whom to ask, in words: "ask Admin ana", "ask an Admin: ana or bo"."""
    if not names:
        return "ask whoever runs this console"
    if len(names) == 1:
        return f"ask Admin {names[0]}"
    shown = names[:3]
    more = " or another Admin" if len(names) > 3 else ""
    return "ask an Admin: " + ", ".join(shown[:-1]) + f" or {shown[-1]}" + more


@dataclass(frozen=True)
class RoleChange:
    """What changing a member's role would do, in words, before it is confirmed."""

    before: Role | None
    after: Role
    gains: list[str]
    loses: list[str]
    self_demotion: bool

    @property
    def unchanged(self) -> bool:
        return self.before == self.after


def role_change(*, actor: Any, member: Any, role: Role) -> RoleChange:
    before = role_of(member)
    low, high = sorted((before or Role.VIEWER, role))
    between = [ROLE_CAN[r].removeprefix("also ") for r in Role if low < r <= high]
    going_up = before is None or role > before
    return RoleChange(
        before=before,
        after=role,
        gains=between if going_up else [],
        loses=[] if going_up else between,
        self_demotion=member.pk == actor.pk and role < Role.ADMIN <= (before or Role.VIEWER),
    )
