"""Brute-force lock-out by (username, client address), and the one client-address rule."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from console.net import client_ip
from console.roles import Role
from tests.console.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def axes_on(settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.implementation = None  # pick up this test's settings


def attempt(username: str, password: str, *, addr: str, headers: dict | None = None) -> int:
    client = Client(REMOTE_ADDR=addr, **(headers or {}))
    return client.post("/login/", {"username": username, "password": password}).status_code


def fail_until_locked(username: str, *, addr: str, headers: dict | None = None) -> None:
    for _ in range(3):
        attempt(username, "wrong-password", addr=addr, headers=headers)


@pytest.mark.parametrize(
    ("behind_proxy", "meta", "expected"),
    [
        (False, {"REMOTE_ADDR": "203.0.113.5"}, "203.0.113.5"),
        (
            False,
            {"REMOTE_ADDR": "203.0.113.5", "HTTP_X_FORWARDED_FOR": "198.51.100.1"},
            "203.0.113.5",
        ),
        (False, {"REMOTE_ADDR": "203.0.113.5", "HTTP_X_REAL_IP": "198.51.100.1"}, "203.0.113.5"),
        (True, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "198.51.100.1"}, "198.51.100.1"),
        (
            True,
            {
                "REMOTE_ADDR": "10.0.0.2",
                "HTTP_X_REAL_IP": "198.51.100.1",
                "HTTP_X_FORWARDED_FOR": "192.0.2.99",
            },
            "198.51.100.1",
        ),
        (True, {"REMOTE_ADDR": "10.0.0.2"}, None),
        (False, {"REMOTE_ADDR": "not-an-ip"}, None),
    ],
)
def test_client_address_rule(
    settings, behind_proxy: bool, meta: dict, expected: str | None
) -> None:  # type: ignore[no-untyped-def]
    settings.CONSOLE_BEHIND_PROXY = behind_proxy
    request = RequestFactory().get("/", **meta)
    assert client_ip(request) == expected


def test_repeated_failures_lock_the_pair(make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("target", Role.VIEWER)
    fail_until_locked("target", addr="203.0.113.5")
    assert attempt("target", PASSWORD, addr="203.0.113.5") == 429


def test_another_member_behind_the_same_address_can_still_sign_in(make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("target", Role.VIEWER)
    make_member("colleague", Role.VIEWER)
    fail_until_locked("target", addr="203.0.113.5")
    assert attempt("colleague", PASSWORD, addr="203.0.113.5") == 302


def test_a_spoofed_forwarded_for_does_not_evade_the_lock_out(make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("target", Role.VIEWER)
    fail_until_locked("target", addr="203.0.113.5")
    spoof = {"HTTP_X_FORWARDED_FOR": "198.51.100.77"}
    assert attempt("target", PASSWORD, addr="203.0.113.5", headers=spoof) == 429


def test_a_spoofed_forwarded_for_does_not_lock_out_others(make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("target", Role.VIEWER)
    spoof = {"HTTP_X_FORWARDED_FOR": "198.51.100.10"}
    fail_until_locked("target", addr="203.0.113.66", headers=spoof)
    assert attempt("target", PASSWORD, addr="198.51.100.10") == 302


def test_behind_the_proxy_x_real_ip_is_the_address(settings, make_member) -> None:  # type: ignore[no-untyped-def]
    settings.CONSOLE_BEHIND_PROXY = True
    make_member("target", Role.VIEWER)
    proxy = "10.0.0.2"
    fail_until_locked("target", addr=proxy, headers={"HTTP_X_REAL_IP": "198.51.100.20"})
    locked = attempt("target", PASSWORD, addr=proxy, headers={"HTTP_X_REAL_IP": "198.51.100.20"})
    assert locked == 429
    # Someone else behind the same proxy, from another address, is not locked out, and a
    # forged X-Forwarded-For changes nothing.
    other = {"HTTP_X_REAL_IP": "198.51.100.21", "HTTP_X_FORWARDED_FOR": "198.51.100.20"}
    assert attempt("target", PASSWORD, addr=proxy, headers=other) == 302


def test_a_request_without_a_usable_address_can_still_log_in(settings, make_member) -> None:  # type: ignore[no-untyped-def]
    settings.CONSOLE_BEHIND_PROXY = True  # and the proxy sent no X-Real-IP
    make_member("target", Role.VIEWER)
    assert attempt("target", "wrong-password", addr="10.0.0.2") == 200
    assert attempt("target", PASSWORD, addr="10.0.0.2") == 302


def test_the_lock_out_page_says_how_long_in_words(make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("target", Role.VIEWER)
    fail_until_locked("target", addr="203.0.113.5")
    client = Client(REMOTE_ADDR="203.0.113.5")
    body = client.post("/login/", {"username": "target", "password": PASSWORD}).content.decode()
    assert "Wait 15 minutes and try again" in body and "PT15M" not in body
