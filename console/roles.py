"""Roles and the one authorisation helper every view and fragment goes through."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from console.htmx import wants_partial


class Role(enum.IntEnum):
    """Each role includes everything the roles below it may do."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.title()


# The groups a migration creates, and what each lets a member do — declared here, in code.
GROUP_ROLES = {"Viewer": Role.VIEWER, "Operator": Role.OPERATOR, "Admin": Role.ADMIN}
ROLE_CAN = {
    Role.VIEWER: "read every page: models, runs, schedules and the audit log",
    Role.OPERATOR: "also create and edit models, start and sync runs, and edit schedules",
    Role.ADMIN: "also delete models and manage the team",
}


def role_of(user: AbstractBaseUser | AnonymousUser | None) -> Role | None:
    """The member's highest role; superusers count as Admins; None for no role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    cached = getattr(user, "_console_role", "unset")
    if cached != "unset":
        return cached  # type: ignore[return-value]
    names = user.groups.values_list("name", flat=True)  # type: ignore[attr-defined]
    return remember_role(user, names)


def remember_role(user: Any, group_names: Any) -> Role | None:
    """The role the member's group names give, kept on the user for ``role_of`` (for a list
    of members whose groups were read in one query)."""
    roles = [GROUP_ROLES[n] for n in group_names if n in GROUP_ROLES]
    role = max(roles) if roles else None
    user._console_role = role
    return role


def has_role(user: Any, needed: Role) -> bool:
    role = role_of(user)
    return role is not None and role >= needed


def refusal(request: HttpRequest, needed: Role) -> HttpResponse:
    """403 in plain words: a fragment for htmx swaps, a page otherwise."""
    context = {
        "needed": needed,
        "current": role_of(request.user),
        "exception": f"This needs the {needed.label} role.",
    }
    template = "console/refusal.html#refusal" if wants_partial(request) else "console/refusal.html"
    return render(request, template, context, status=403)


V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def requires(needed: Role) -> Callable[[V], V]:
    """Decorate a view: the signed-in member needs at least ``needed``."""

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_role(request.user, needed):
                return refusal(request, needed)
            return view(request, *args, **kwargs)

        wrapper.required_role = needed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
