"""The navigation bar, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
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


@cache
def links() -> tuple[tuple[str, str, Role], ...]:
    """The links' URLs, reversed once per process (every page asked for all six)."""
    found = []
    for name, label, needed in NAV:
        try:
            found.append((reverse(name), label, needed))
        except NoReverseMatch:
            continue
    return tuple(found)


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    """A test that changes the URLs gets the links reversed anew."""
    links.cache_clear()


def navigation(request: HttpRequest, role: Role | None) -> list[NavItem]:
    path = request.path
    return [
        NavItem(url, label, path.startswith(url))
        for url, label, needed in links()
        if role is not None and role >= needed
    ]
