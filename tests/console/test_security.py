"""Security hardening: CSRF everywhere, deploy checks, CSP, log redaction, request ids."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from csp.constants import NONCE, SELF
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings

from console.logs import JsonFormatter, RedactTokensFilter, RequestIdFilter
from console.middleware import PolicyMiddleware
from console.roles import Role
from console.settings.keys import new_keyring_entry
from drgero_client.sandbox import SandboxServer
from tests.console.test_authorisation_matrix import PATTERNS, url_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_every_url_refuses_a_post_without_a_csrf_token(
    sandbox: SandboxServer, make_member: Any
) -> None:
    admin = make_member("admin", Role.ADMIN, token="drgero_sandbox_full")
    target = make_member("target", Role.VIEWER)
    model_id = sandbox.state.add_model("ws_main", name="Guarded")["id"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    checked = 0
    for name, route in PATTERNS:
        if name in ("console:healthz", "console:readyz"):
            continue  # answered before the view layer; they change nothing and take GET only
        path = url_for(route, target.pk).replace("00000000-0000-0000-0000-000000000000", model_id)
        response = client.post(
            path, {"name": "x", "token": "drgero_sandbox_full", "step": "confirm", "enabled": "off"}
        )
        assert response.status_code == 403, (name, response.status_code)
        checked += 1
    assert checked == len(PATTERNS) - 2
    assert sandbox.state.seen == []


def under_production(args: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` under production settings, with every required variable set."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CONSOLE_")) and k != "REDIS_URL"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "console.settings.production",
            "DJANGO_SECRET_KEY": "p" * 20 + "Q7#x" + "z" * 40,
            "CONSOLE_TOKEN_KEYS": new_keyring_entry("k1"),
            "CONSOLE_AUDIT_KEYS": new_keyring_entry("a1"),
            "DATABASE_URL": "sqlite:////tmp/console-deploy-check.sqlite3",
            "DJANGO_ALLOWED_HOSTS": "console.example.org",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://console.example.org",
            **extra,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def deploy_check(**extra: str) -> subprocess.CompletedProcess[str]:
    return under_production(["check", "--deploy", "--fail-level", "WARNING"], **extra)


def test_the_deploy_checks_pass_under_production_settings() -> None:
    result = deploy_check(REDIS_URL="redis://127.0.0.1:6379/9")
    assert result.returncode == 0, result.stdout + result.stderr


def setting_under_production(name: str, **extra: str) -> str:
    code = f"from django.conf import settings; print(settings.{name})"
    result = under_production(["shell", "-c", code], **extra)
    result.check_returncode()
    return result.stdout.strip().splitlines()[-1]


def test_sessions_are_read_from_the_shared_cache_only_when_there_is_one() -> None:
    """cached_db on Redis; never a per-process cache, where a log-out in one process would
    leave the session alive in another."""
    shared = setting_under_production("SESSION_ENGINE", REDIS_URL="redis://127.0.0.1:6379/9")
    assert shared == "django.contrib.sessions.backends.cached_db"
    assert setting_under_production("SESSION_ENGINE") == "django.contrib.sessions.backends.db"


def test_production_without_a_shared_queue_is_warned() -> None:
    result = deploy_check()
    assert result.returncode != 0 and "console.W001" in result.stdout + result.stderr


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(login_as: Any) -> None:
    response = login_as(Role.VIEWER).get("/audit/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def _policy_of(response: Any, header: str = "Content-Security-Policy") -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response[header].split(";") if part.strip())


def test_the_policy_built_once_is_django_csps_own() -> None:
    """The console's middleware writes the policy django-csp writes, changes with the settings,
    and leaves a response that asks for its own policy, or a nonce, to django-csp."""
    factory = RequestFactory()

    def through(middleware: Any, response: HttpResponse, request: Any = None) -> HttpResponse:
        request = request or factory.get("/models/")
        middleware.process_request(request)
        return middleware.process_response(request, response)

    ours = PolicyMiddleware(lambda r: HttpResponse())
    theirs = CSPMiddleware(lambda r: HttpResponse())
    assert _policy_of(through(ours, HttpResponse())) == _policy_of(through(theirs, HttpResponse()))
    assert "Content-Security-Policy-Report-Only" not in through(ours, HttpResponse())
    asked = HttpResponse()
    asked._csp_update = {"img-src": ["https://images.example.org"]}  # type: ignore[attr-defined]
    assert "https://images.example.org" in _policy_of(through(ours, asked))["img-src"]
    late = factory.get("/models/")
    through(ours, HttpResponse(), late)
    with pytest.raises(CSPNonceError):
        str(late.csp_nonce)  # type: ignore[attr-defined]
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    changed = {
        "DIRECTIVES": {**directives, "img-src": [SELF, "data:"], "script-src": [SELF, NONCE]}
    }
    report_only = {"DIRECTIVES": {"default-src": ["'none'"]}}
    with override_settings(
        CONTENT_SECURITY_POLICY=changed, CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only
    ):
        response = through(ours, HttpResponse())
        assert _policy_of(response)["img-src"] == "'self' data:"
        assert _policy_of(response)["script-src"] == "'self'"
        ro = _policy_of(response, "Content-Security-Policy-Report-Only")
        assert ro["default-src"] == "'none'"
        request = factory.get("/models/")
        ours.process_request(request)
        nonce = str(request.csp_nonce)  # type: ignore[attr-defined]
        with_nonce = ours.process_response(request, HttpResponse())
        assert _policy_of(with_nonce)["script-src"] == f"'self' 'nonce-{nonce}'"
    assert _policy_of(through(ours, HttpResponse()))["img-src"] == "'self'"


def record(message: str, *args: Any, exc: BaseException | None = None) -> logging.LogRecord:
    rec = logging.LogRecord("t", logging.ERROR, __file__, 1, message, args, None)
    if exc is not None:
        rec.exc_info = (type(exc), exc, exc.__traceback__)
    return rec


def test_the_last_resort_filter_redacts_token_shaped_text() -> None:
    token = "drgero_abcdef0123456789XYZ"
    rec = record("saw %s in a header", token)
    RedactTokensFilter().filter(rec)
    assert token not in rec.getMessage() and "drgero_[redacted]" in rec.getMessage()
    try:
        raise ValueError(f"bad token {token}")
    except ValueError as exc:
        rec = record("failed", exc=exc)
    RedactTokensFilter().filter(rec)
    # What a handler finally writes, traceback included, holds the redacted form only.
    written = logging.Formatter().format(rec)
    assert "bad token drgero_[redacted]" in written and token not in written


def test_json_logs_carry_the_request_id() -> None:
    rec = record("hello")
    RequestIdFilter().filter(rec)
    data = json.loads(JsonFormatter().format(rec))
    assert data["message"] == "hello" and data["request_id"] == "-" and data["level"] == "ERROR"


@pytest.mark.django_db
def test_every_response_has_a_request_id_that_the_log_lines_share(
    login_as: Any, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = login_as(Role.VIEWER, token="drgero_sandbox_full")
    handler_filter = RequestIdFilter()
    logging.getLogger("drgero_client").addFilter(handler_filter)
    try:
        response = client.get("/base-models/")
    finally:
        logging.getLogger("drgero_client").removeFilter(handler_filter)
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (line,) = [r for r in caplog.records if r.name == "drgero_client"]
    assert line.request_id == request_id
    assert (line.method, line.path, line.status, line.retries) == (
        "GET",
        "/api/base-models",
        200,
        0,
    )
    assert line.duration_ms >= 0
    assert "drgero_sandbox_full" not in caplog.text
    kept = client.get("/base-models/", HTTP_X_REQUEST_ID="proxy-given-id-1234")
    assert kept["X-Request-ID"] == "proxy-given-id-1234"
    made_up = client.get("/base-models/", HTTP_X_REQUEST_ID="<script>")
    assert made_up["X-Request-ID"] != "<script>"


def test_production_with_a_provider_allows_its_end_session_redirect_and_refuses_http() -> None:
    oidc = {
        "CONSOLE_OIDC_ISSUER": "https://login.example.org/realms/team",
        "CONSOLE_OIDC_CLIENT_ID": "console",
        "CONSOLE_OIDC_CLIENT_SECRET": "not-a-real-secret",
    }
    directives = "CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']"
    assert (
        setting_under_production(directives, **oidc) == "[\"'self'\", 'https://login.example.org']"
    )
    assert setting_under_production(directives) == "[\"'self'\"]"
    with pytest.raises(subprocess.CalledProcessError) as refused:
        setting_under_production(
            "CONSOLE_OIDC_ISSUER", **{**oidc, "CONSOLE_OIDC_ISSUER": "http://127.0.0.1:8200/o"}
        )
    assert "CONSOLE_OIDC_ISSUER must be an https address" in refused.value.stderr
