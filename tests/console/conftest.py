"""Fixtures for the console's tests: members with roles, with or without a saved token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from console.crypto import encrypt_token
from console.models import DrGeroToken
from console.roles import Role
from console.services.team import set_role_groups

PASSWORD = "a-long-test-password-1"  # noqa: S105


@pytest.fixture(autouse=True)
def _empty_queue_and_cache() -> None:
    """Each test starts with an empty task queue and cache (member ids repeat across tests)."""
    from django.core.cache import cache
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    cache.clear()


PUBLIC_NAMES = {"hooks.example.org": "93.184.215.14"}  # names tests resolve; never connected to


@pytest.fixture(autouse=True)
def _resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No DNS in tests: the webhook's host names resolve from this table, and a name not in it
    is not found (so no test asks a real resolver, or waits for one)."""
    import ipaddress

    from console.services import webhook

    table = dict(PUBLIC_NAMES)

    def resolve(host: str, port: int) -> list[Any]:
        if host not in table:
            raise OSError("not found")
        return [ipaddress.ip_address(table[host])]

    monkeypatch.setattr(webhook, "resolve", resolve)
    return table


def store_token(user: Any, token: str, capabilities: dict | None = None) -> DrGeroToken:
    value, key_id = encrypt_token(token, user_id=user.pk)
    return DrGeroToken.objects.update_or_create(
        user=user,
        defaults={
            "ciphertext": value,
            "key_id": key_id,
            "hint": token[-4:],
            "saved_at": timezone.now(),
            "read_at": timezone.now(),  # a token the worker has read already
            "capabilities": capabilities
            or {"models:read": True, "leaderboards:read": True, "base_models": True},
        },
    )[0]


@pytest.fixture
def make_member(db: None) -> Callable[..., Any]:
    def make(username: str, role: Role | None = Role.VIEWER, token: str | None = None) -> Any:
        user = get_user_model().objects.create_user(username=username, password=PASSWORD)
        set_role_groups(user, role)
        if token:
            store_token(user, token)
        return user

    return make


@pytest.fixture
def login_as(make_member: Callable[..., Any]) -> Callable[..., Client]:
    def login(
        role: Role | None, *, token: str | None = None, username: str | None = None
    ) -> Client:
        name = username or f"{role.name.lower() if role else 'norole'}-member"
        user = make_member(name, role, token)
        client = Client()
        client.force_login(user)
        client.user = user  # type: ignore[attr-defined]
        return client

    return login


HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/audit/"}


@pytest.fixture
def receiver(settings: Any) -> Iterator[Any]:
    """A live receiver on loopback, which the console reaches only with
    CONSOLE_WEBHOOK_ALLOW_PRIVATE on (as a deployment with an internal receiver sets it)."""
    settings.CONSOLE_WEBHOOK_ALLOW_PRIVATE = True
    from tests.console.webhook_receiver import Receiver

    got = Receiver()
    yield got
    got.server.shutdown()
    got.server.server_close()
