"""The navigation bar, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from console.roles import Role

# Each link, and the role it needs: a member sees only the links their role may open.
NAV = [
    ("console:models", "Models", Role.VIEWER),
    ("console:runs", "Runs", Role.VIEWER),
    ("console:audit", "Audit log", Role.VIEWER),
    ("console:base-models", "Base models", Role.VIEWER),
    ("console:team", "Team", Role.ADMIN),
    ("console:token", "My token", Role.VIEWER),
]


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool


def navigation(request: HttpRequest, role: Role | None) -> list[NavItem]:
    items = []
    for name, label, needed in NAV:
        if role is None or role < needed:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(NavItem(url, label, request.path.startswith(url)))
    return items
