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
def _links() -> tuple[tuple[str, str, Role], ...]:
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
    _links.cache_clear()


def current(path: str) -> tuple[str, ...]:
    """The links the page at ``path`` is under: each is marked as the current page."""
    return tuple(url for url, _, _ in _links() if path.startswith(url))


def navigation(request: HttpRequest, role: Role | None) -> list[NavItem]:
    here = current(request.path)
    return [
        NavItem(url, label, url in here)
        for url, label, needed in _links()
        if role is not None and role >= needed
    ]
