"""Start the test OpenID provider: ``python -m tests.oidc_provider.serve --port 8200``.

It makes a data directory, an RSA signing key, its database, one client (the console) and
the people of ``--people`` (a JSON list), then serves over HTTP on 127.0.0.1 until stopped.
``provider()`` does the same from Python, in a child process, for the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "drgero-console"
PEOPLE = [
    {"username": "ana", "email": "ana@team.example", "groups": ["ml-admins"]},
    {"username": "olga", "email": "olga@team.example", "groups": ["ml-ops"]},
    {"username": "vic", "email": "vic@team.example", "groups": []},
    {"username": "eve", "email": "eve@elsewhere.example", "groups": ["ml-admins"]},
]
PASSWORD = "provider-password-1"  # noqa: S105  (accounts of the local test provider only)


@dataclass(frozen=True)
class Provider:
    url: str
    issuer: str
    client_id: str
    client_secret: str
    directory: Path

    def control(self, **body: Any) -> None:
        request = urllib.request.Request(  # noqa: S310  (loopback)
            self.url + "/control/",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).read()  # noqa: S310


class _Quiet(WSGIRequestHandler):
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(directory: Path, port: int, secret: str, console: str, people: list[dict]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (directory / "key.pem").write_bytes(pem)
    os.environ.update(
        {
            "OIDC_PROVIDER_DIR": str(directory),
            "OIDC_PROVIDER_SECRET": secrets.token_urlsafe(32),
            "OIDC_PROVIDER_ISSUER": f"http://127.0.0.1:{port}/o",
            "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from oauth2_provider.models import get_application_model

    from tests.oidc_provider.urls import person

    call_command("migrate", verbosity=0)
    get_application_model().objects.create(
        name="Dr.Gero Console",
        client_id=CLIENT_ID,
        client_secret=secret,
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris=f"{console}/login/oidc/callback/",
        post_logout_redirect_uris=f"{console}/login/",
        algorithm="RS256",
        skip_authorization=True,
        hash_client_secret=True,
    )
    for spec in people:
        person({"password": PASSWORD, **spec})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--console", default="http://127.0.0.1:8000")
    parser.add_argument("--secret", default=os.environ.get("CONSOLE_OIDC_CLIENT_SECRET", ""))
    parser.add_argument("--dir", default="")
    args = parser.parse_args()
    directory = Path(args.dir or tempfile.mkdtemp(prefix="oidc-provider-"))
    directory.mkdir(parents=True, exist_ok=True)
    secret = args.secret or secrets.token_urlsafe(24)
    _prepare(directory, args.port, secret, args.console.rstrip("/"), PEOPLE)
    from django.core.wsgi import get_wsgi_application

    server = make_server(
        "127.0.0.1", args.port, get_wsgi_application(), _Threading, handler_class=_Quiet
    )
    print(
        f"OpenID provider: http://127.0.0.1:{args.port}/o (people: "
        f"{', '.join(p['username'] for p in PEOPLE)}; password {PASSWORD})",
        flush=True,
    )
    server.serve_forever()
    return 0


@contextmanager
def provider(console: str) -> Iterator[Provider]:
    """The provider in a child process, for as long as the block runs."""
    port = free_port()
    secret = secrets.token_urlsafe(24)
    directory = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSOLE_"))}
    process = subprocess.Popen(  # noqa: S603  (this interpreter, this module)
        [
            sys.executable,
            "-m",
            "tests.oidc_provider.serve",
            "--port",
            str(port),
            "--console",
            console,
            "--secret",
            secret,
            "--dir",
            str(directory),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/o/.well-known/openid-configuration", timeout=2)  # noqa: S310
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the test OpenID provider did not start: "
                        + (process.stderr.read().decode()[-2000:] if process.stderr else "")
                    ) from None
                time.sleep(0.2)
        yield Provider(url, f"{url}/o", CLIENT_ID, secret, directory)
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())


def console_settings(idp: Provider, current_csp: dict[str, Any]) -> dict[str, Any]:
    """The console's settings for signing in through ``idp``, as console/settings/base.py
    makes them from the CONSOLE_OIDC_* variables (for tests that switch it on at run time)."""
    import copy

    from console.settings.base import origin_of

    csp = copy.deepcopy(current_csp)
    csp["DIRECTIVES"]["form-action"] = ["'self'", origin_of(idp.issuer)]
    return {
        "CONSOLE_OIDC_ISSUER": idp.issuer,
        "CONSOLE_OIDC_NAME": "Team SSO",
        "CONSOLE_OIDC_ALLOWED_DOMAINS": ["team.example"],
        "CONSOLE_OIDC_ROLE_CLAIM": "groups",
        "CONSOLE_OIDC_ROLE_MAP": {"ml-admins": "Admin", "ml-ops": "Operator"},
        "OIDC_RP_CLIENT_ID": idp.client_id,
        "OIDC_RP_CLIENT_SECRET": idp.client_secret,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": "openid email profile",
        "OIDC_USE_PKCE": True,
        "OIDC_USE_NONCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_AUTHENTICATION_CALLBACK_URL": "console:oidc-callback",
        "OIDC_TIMEOUT": 10,
        "LOGIN_REDIRECT_URL_FAILURE": "console:login",
        "CONTENT_SECURITY_POLICY": csp,
    }
