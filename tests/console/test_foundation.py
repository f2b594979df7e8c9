"""The foundation: probes, log-in and log-out, page headers, the htmx conventions, settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from console.roles import Role
from console.settings.keys import KeyringError, new_keyring_entry, parse_keyring
from tests.console.conftest import HTMX, PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_needs_no_login_and_no_database(client: Client) -> None:
    response = client.get("/healthz", HTTP_HOST="anything.invalid")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database(client: Client) -> None:
    response = client.get("/readyz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_pages_need_log_in(client: Client) -> None:
    response = client.get("/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/audit/")


@pytest.mark.django_db
def test_an_htmx_request_without_a_session_is_redirected_not_swapped(client: Client) -> None:
    response = client.get("/audit/", **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/audit/"
    assert response.content == b""


@pytest.mark.django_db
def test_log_in_rotates_the_csrf_token_and_lands_on_a_page(make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("viewer", Role.VIEWER)
    client = Client()
    client.get("/login/")
    before = client.cookies["csrftoken"].value
    response = client.post("/login/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 302
    assert client.cookies["csrftoken"].value != before
    assert client.get(response["Location"], follow=True).status_code == 200


@pytest.mark.django_db
def test_a_wrong_password_says_so(make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("viewer", Role.VIEWER)
    response = Client().post("/login/", {"username": "viewer", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


@pytest.mark.django_db
def test_log_out_is_post_only_and_clears_site_data(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.VIEWER)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/audit/").status_code == 302


@pytest.mark.django_db
def test_signed_in_pages_are_private_and_vary_on_hx_request(login_as) -> None:  # type: ignore[no-untyped-def]
    response = login_as(Role.VIEWER).get("/audit/")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert "HX-Request" in response["Vary"]


@pytest.mark.django_db
def test_the_layout_follows_the_htmx_conventions(login_as) -> None:  # type: ignore[no-untyped-def]
    from html.parser import HTMLParser

    html = login_as(Role.VIEWER).get("/audit/").content.decode()

    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, dict]] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.tags.append((tag, dict(attrs)))

    parser = Collect()
    parser.feed(html)
    meta = next(a for t, a in parser.tags if t == "meta" and a.get("name") == "htmx-config")
    config = json.loads(meta["content"])
    assert config["allowEval"] is False and config["historyCacheSize"] == 0
    assert config["includeIndicatorStyles"] is False and config["refreshOnHistoryMiss"] is True
    swapped = {r["code"] for r in config["responseHandling"] if r.get("swap")}
    assert {"40[349]", "422", "50[234]"} <= swapped
    body = next(a for t, a in parser.tags if t == "body")
    assert "X-CSRFToken" in json.loads(body["hx-headers"])
    scripts = [a for t, a in parser.tags if t == "script"]
    assert scripts and all(a.get("src") for a in scripts)  # no inline scripts
    assert not any("style" in a for _, a in parser.tags)  # no inline styles
    assert not any(k.startswith("hx-on") for _, a in parser.tags for k in a)
    assert any(a.get("aria-live") for _, a in parser.tags)
    labels = [a.get("href") for t, a in parser.tags if t == "a"]
    assert reverse("console:audit") in labels


@pytest.mark.django_db
def test_messages_reach_htmx_requests_as_an_hx_trigger_event(login_as) -> None:  # type: ignore[no-untyped-def]
    from console.middleware import HtmxMessagesMiddleware

    client = login_as(Role.ADMIN)
    # A refused form re-renders in place; its message travels in the HX-Trigger header.
    client.post("/team/add/", {"username": "", "role": "viewer"}, **HTMX)
    response = client.post("/account/token/recheck/")  # queues a message, then redirects
    assert response.status_code == 302
    page = client.get("/audit/", **HTMX)
    events = json.loads(page["HX-Trigger"])
    assert events["messages"][0]["level"] == "error"
    assert HtmxMessagesMiddleware


def test_keyrings_parse_and_refuse_bad_entries() -> None:
    ring = parse_keyring(f"{new_keyring_entry('a')},{new_keyring_entry('b')}", variable="X")
    assert list(ring) == ["a", "b"] and all(len(k) == 32 for k in ring.values())
    for bad in (
        "",
        "nokey",
        "a:notbase64!",
        "a:c2hvcnQ=",
        f"{new_keyring_entry('a')},{new_keyring_entry('a')}",
    ):
        with pytest.raises(KeyringError) as info:
            parse_keyring(bad, variable="CONSOLE_TOKEN_KEYS")
        assert "CONSOLE_TOKEN_KEYS" in str(info.value)


def _start_production(extra: dict[str, str], code: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSOLE_"))}
    env.pop("DATABASE_URL", None)
    env.update({"DJANGO_SETTINGS_MODULE": "console.settings.production", **extra})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


FULL_PRODUCTION = {
    "DJANGO_SECRET_KEY": "x" * 60,
    "CONSOLE_TOKEN_KEYS": new_keyring_entry("k1"),
    "CONSOLE_AUDIT_KEYS": new_keyring_entry("a1"),
    "DATABASE_URL": "sqlite:////tmp/never-opened.sqlite3",
    "DJANGO_ALLOWED_HOSTS": "console.example.org",
}


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "CONSOLE_TOKEN_KEYS",
        "CONSOLE_AUDIT_KEYS",
        "DATABASE_URL",
        "DJANGO_ALLOWED_HOSTS",
    ],
)
def test_production_refuses_to_start_naming_the_missing_variable(missing: str) -> None:
    env = {k: v for k, v in FULL_PRODUCTION.items() if k != missing}
    result = _start_production(env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_starts_with_everything_set() -> None:
    assert _start_production(FULL_PRODUCTION).returncode == 0


PROVIDER = {
    "CONSOLE_OIDC_ISSUER": "https://login.example.org/realms/team",
    "CONSOLE_OIDC_CLIENT_ID": "console",
    "CONSOLE_OIDC_CLIENT_SECRET": "not-a-real-secret",
}
PROBE = """
import json
from django.conf import settings as s
print(json.dumps({
    "backends": s.AUTHENTICATION_BACKENDS,
    "flow": [getattr(s, n, None) for n in (
        "OIDC_USE_PKCE", "OIDC_USE_NONCE", "OIDC_PKCE_CODE_CHALLENGE_METHOD", "OIDC_RP_SIGN_ALGO"
    )],
    "form_action": s.CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"],
}))
"""


def test_production_with_a_provider_installs_its_backend_with_pkce_and_nonce() -> None:
    """The OIDC block as production loads it (not a copy in the tests)."""
    import json

    result = _start_production({**FULL_PRODUCTION, **PROVIDER}, PROBE)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "console.signin.provider.ProviderBackend" in loaded["backends"]
    assert loaded["flow"] == [True, True, "S256", "RS256"]
    assert "https://login.example.org" in loaded["form_action"]
    without = json.loads(_start_production(FULL_PRODUCTION, PROBE).stdout)
    assert "console.signin.provider.ProviderBackend" not in without["backends"]


@pytest.mark.parametrize(
    "issuer", ["http://login.example.org/realms/team", "http://127.0.0.1:8200/o"]
)
def test_production_refuses_an_http_issuer(issuer: str) -> None:
    result = _start_production({**FULL_PRODUCTION, **PROVIDER, "CONSOLE_OIDC_ISSUER": issuer})
    assert result.returncode != 0
    assert "CONSOLE_OIDC_ISSUER must be an https address" in result.stderr


@pytest.mark.django_db
def test_an_active_session_slides_without_a_write_on_every_request(login_as, settings) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.sessions.models import Session

    client = login_as(Role.VIEWER)
    client.get("/audit/")
    key = client.session.session_key
    first = Session.objects.get(pk=key).expire_date
    client.get("/audit/")
    assert Session.objects.get(pk=key).expire_date == first  # no write within a minute
    session = client.session
    session["_console_seen"] -= 120
    session.save()
    before = Session.objects.get(pk=key).expire_date
    client.get("/audit/")
    assert Session.objects.get(pk=key).expire_date > before


def test_make_run_serves_without_the_nagle_stall(monkeypatch: Any) -> None:
    """`make run` turns Nagle's algorithm off on the development server's connections (back-to-
    back requests took 44 ms instead of 1.4 ms with it on; docs/benchmarks.md)."""
    from django.core.servers import basehttp

    from console.management.commands import console_run

    seen: list[Any] = []
    monkeypatch.setattr(basehttp.WSGIRequestHandler, "disable_nagle_algorithm", False)
    monkeypatch.setattr(
        console_run,
        "call_command",
        lambda *args, **kwargs: seen.append(
            (args, kwargs, basehttp.WSGIRequestHandler.disable_nagle_algorithm)
        ),
    )
    console_run.serve(8765)
    assert seen == [(("runserver", "127.0.0.1:8765"), {"use_reloader": False}, True)]


@pytest.mark.django_db
def test_the_csrf_cookie_is_renewed_with_the_session_not_on_every_page(make_member) -> None:  # type: ignore[no-untyped-def]
    """Django sets the CSRF cookie again on every page that shows a token, to push its expiry
    on; a signed-in member's is pushed on with the session, once a minute (SlidingSession)."""
    user = make_member("viewer", Role.VIEWER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    first = client.get("/account/password/")
    secret = first.cookies["csrftoken"].value  # a browser without one gets one at once
    again = client.get("/account/password/")
    assert "csrftoken" not in again.cookies  # it holds this very cookie, seen within a minute
    # The page's token still passes the check: a wrong current password is a form error, not
    # a 403.
    token = again.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    posted = client.post(
        "/account/password/",
        {"csrfmiddlewaretoken": token, "old_password": "wrong", "new_password1": "x"},
    )
    assert posted.status_code == 200
    assert b"Your old password was entered incorrectly" in posted.content
    session = client.session
    session["_console_seen"] -= 120
    session.save()
    later = client.get("/account/password/")
    assert later.cookies["csrftoken"].value == secret  # the same secret, its expiry pushed on
    assert int(later.cookies["csrftoken"]["max-age"]) > 300 * 24 * 3600
    # A browser that lost the cookie, or holds a malformed one, gets a new one on the next page.
    for held in (None, "not-a-secret"):
        if held is None:
            del client.cookies["csrftoken"]
        else:
            client.cookies["csrftoken"] = held
        fresh = client.get("/account/password/")
        assert fresh.cookies["csrftoken"].value not in ("", held, None)


@pytest.mark.django_db
def test_a_visitor_without_a_session_gets_the_csrf_cookie_on_every_page() -> None:
    client = Client()
    assert client.get("/login/").cookies["csrftoken"].value
    assert client.get("/login/").cookies["csrftoken"].value  # Django's own rule, unchanged


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        (None, {"private", "no-store"}),
        ("public, max-age=60", {"private", "no-store", "max-age=60"}),  # public gives way
    ],
)
def test_a_signed_in_answer_is_made_private_whatever_it_said(own: Any, expected: set[str]) -> None:
    from django.contrib.auth.models import User
    from django.http import HttpResponse
    from django.test import RequestFactory

    from console.middleware import PageHeadersMiddleware

    answer = HttpResponse("x")
    if own:
        answer["Cache-Control"] = own
    request = RequestFactory().get("/")
    request.user = User(username="member")
    response = PageHeadersMiddleware(lambda r: answer)(request)
    assert {part.strip() for part in response["Cache-Control"].split(",")} == expected


@pytest.mark.django_db
def test_the_member_is_read_once_and_not_behind_a_lazy_wrapper(make_member) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from console.middleware import MemberMiddleware

    member = make_member("viewer", Role.VIEWER)
    client = Client()
    client.force_login(member)
    for cookies, expected in ((client.cookies, get_user_model()), ({}, AnonymousUser)):
        request = RequestFactory().get("/")
        request.COOKIES.update({k: v.value for k, v in cookies.items()})
        SessionMiddleware(lambda r: None).process_request(request)
        with CaptureQueriesContext(connection) as read:
            MemberMiddleware(lambda r: None).process_request(request)
            assert type(request.user) is expected  # the member itself, no proxy in between
            assert request.user.is_authenticated == (expected is not AnonymousUser)
            assert request.user.pk == (member.pk if cookies else None)
        assert len(read) <= 2  # the session and the member (with its role), read once
        assert request._cached_user is request.user  # kept as Django's lazy one keeps it
