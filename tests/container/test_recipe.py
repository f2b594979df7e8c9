"""The Dockerfile's recipe, without a Docker engine: install as it does, start its command.

The dependencies come from a local wheel cache under var/ (downloaded once), go into a fresh
virtual environment, and the Dockerfile's own CMD is started with production settings.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.settings.keys import new_keyring_entry

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
WHEELHOUSE = ROOT / "var" / "wheelhouse"


def dockerfile_cmd() -> list[str]:
    line = next(line for line in DOCKERFILE.splitlines() if line.startswith("CMD ["))
    return json.loads(line[len("CMD ") :])


def dockerfile_pip_flags() -> list[str]:
    match = re.search(r"pip install ([^\n\\]+)-r requirements.lock", DOCKERFILE)
    assert match, "the Dockerfile installs from requirements.lock"
    return match.group(1).split()


def copied_paths() -> list[str]:
    return re.findall(r"^COPY (?!--from)(\S+) \./", DOCKERFILE, flags=re.MULTILINE)


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]


def wheel_cache() -> Path:
    lock = (ROOT / "requirements.lock").read_bytes()
    stamp = WHEELHOUSE / f".{hashlib.sha256(lock).hexdigest()[:16]}"
    if not stamp.exists():
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                "-r",
                str(ROOT / "requirements.lock"),
                "-d",
                str(WHEELHOUSE),
            ]
        )
        stamp.touch()
    return WHEELHOUSE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict[str, str]]]:
    base = tmp_path_factory.mktemp("container")
    app, venv, state = base / "app", base / "venv", base / "var"
    app.mkdir()
    state.mkdir()
    for path in copied_paths():
        source = ROOT / path
        if source.is_dir():
            shutil.copytree(source, app / path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, app / path)
    run([sys.executable, "-m", "venv", str(venv)])
    run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheel_cache()),
            *dockerfile_pip_flags(),
            "-r",
            str(ROOT / "requirements.lock"),
        ]
    )
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "console.settings.production",
        "DJANGO_SECRET_KEY": "recipe-test-" + "k" * 50,
        "CONSOLE_TOKEN_KEYS": new_keyring_entry("k1"),
        "CONSOLE_AUDIT_KEYS": new_keyring_entry("a1"),
        "DATABASE_URL": f"sqlite:///{state / 'console.sqlite3'}",
        "DJANGO_ALLOWED_HOSTS": "console.example.org,localhost",
        "CONSOLE_VAR_DIR": str(state),
        "DJANGO_SUPERUSER_USERNAME": "first-admin",
        "DJANGO_SUPERUSER_PASSWORD": "recipe-test-password-1",
        "DJANGO_SUPERUSER_EMAIL": "admin@example.org",
    }
    python = str(venv / "bin" / "python")
    for step in (
        ["collectstatic", "--noinput", "--verbosity", "0"],
        ["migrate", "--noinput"],
        ["createsuperuser", "--noinput"],
    ):
        run([python, "manage.py", *step], cwd=app, env=env)
    port = free_port()
    cmd = dockerfile_cmd()
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        cmd, cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    reader = threading.Thread(target=lambda: SERVER_LOG.extend(server.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if get(port, "/healthz", {"Host": "localhost"})[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield port, env
    finally:
        server.terminate()
        server.wait(timeout=20)


SERVER_LOG: list[str] = []  # what gunicorn printed, its access log included


def get(
    port: int, path: str, headers: dict[str, str], method: str = "GET", body: str | None = None
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read().decode()
    result = response.status, {k.lower(): v for k, v in response.getheaders()}, data
    cookies = response.headers.get_all("Set-Cookie") or []
    result[1]["set-cookie-all"] = "\n".join(cookies)
    conn.close()
    return result


def cookies_from(headers: dict[str, str]) -> dict[str, str]:
    jar = {}
    for line in headers.get("set-cookie-all", "").splitlines():
        name, _, rest = line.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def test_healthz_answers_plain_http_with_host_localhost(served: tuple[int, dict]) -> None:
    port, _ = served
    status, _, body = get(port, "/healthz", {"Host": "localhost"})
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert get(port, "/readyz", {"Host": "10.1.2.3:8000"})[0] == 200


def test_the_log_in_page_and_a_signed_in_page_behind_the_proxy(served: tuple[int, dict]) -> None:
    port, env = served
    proxy = {"Host": "console.example.org", "X-Forwarded-Proto": "https"}
    assert get(port, "/login/", {"Host": "console.example.org"})[0] == 301  # plain http → https
    status, headers, body = get(port, "/login/", proxy)
    assert status == 200 and "Log in" in body
    assert "strict-transport-security" in headers
    assert "/static/console/console." in body and ".css" in body  # hashed by collectstatic
    jar = cookies_from(headers)
    form = (
        f"csrfmiddlewaretoken={jar['csrftoken']}&username={env['DJANGO_SUPERUSER_USERNAME']}"
        f"&password={env['DJANGO_SUPERUSER_PASSWORD']}"
    )
    status, headers, _ = get(
        port,
        "/login/",
        {
            **proxy,
            "Cookie": f"csrftoken={jar['csrftoken']}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": "https://console.example.org/login/",
        },
        "POST",
        form,
    )
    assert status == 302, headers
    session = cookies_from(headers)["sessionid"]
    status, _, body = get(port, "/audit/", {**proxy, "Cookie": f"sessionid={session}"})
    assert status == 200 and "Audit log" in body and "first-admin" in body


def test_the_access_log_redacts_token_shaped_text(served: tuple[int, dict]) -> None:
    port, _ = served
    canary = "drgero_accesslogcanary0123456789"
    get(port, f"/healthz?q={canary}", {"Host": "localhost", "Referer": f"https://x/?t={canary}"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any("/healthz?q=" in line for line in SERVER_LOG):
        time.sleep(0.1)
    lines = [line for line in SERVER_LOG if "/healthz?q=" in line]
    assert lines, "the access log line was not written"
    assert canary not in "".join(SERVER_LOG)
    assert "drgero_[redacted]" in lines[0]
