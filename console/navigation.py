"""The navigation bar, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

NAV = [
    ("console:models", "Models"),
    ("console:runs", "Runs"),
    ("console:audit", "Audit log"),
    ("console:base-models", "Base models"),
    ("console:team", "Team"),
    ("console:token", "My token"),
]


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool


def navigation(request: HttpRequest) -> list[NavItem]:
    items = []
    for name, label in NAV:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append(NavItem(url, label, request.path.startswith(url)))
    return items
