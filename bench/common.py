"""What the benchmarks share: production settings, the sandbox, gunicorn, a signed-in member."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
PYTHON = sys.executable
PASSWORD = "bench-password-1"  # noqa: S105  (a local, throwaway benchmark account)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def team_redis() -> str | None:
    """The Redis a team deployment has (docker-compose.yml), when one answers here: the shared
    cache (sessions) and the queue. Database 12, emptied first."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"SELECT 12\r\nFLUSHDB\r\n")
            s.recv(64)
    except OSError:
        return None
    return "redis://127.0.0.1:6379/12"


def keys() -> dict[str, str]:
    """Keyrings generated once for the benchmarks (the cached data is signed with them)."""
    path = BENCH_DIR / "keys.json"
    if not path.exists():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        entry = lambda kid: f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"  # noqa: E731
        path.write_text(
            json.dumps(
                {
                    "DJANGO_SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
                    "CONSOLE_TOKEN_KEYS": entry("bench"),
                    "CONSOLE_AUDIT_KEYS": entry("bench"),
                }
            )
        )
    return json.loads(path.read_text())


def production_env(database_url: str, drgero: str = "http://127.0.0.1:9") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CONSOLE_"))}
    env.update(keys())
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "console.settings.production",
            "DATABASE_URL": database_url,
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://localhost",
            "DRGERO_API_BASE": drgero,
            "CONSOLE_VAR_DIR": str(BENCH_DIR),
            "LOG_LEVEL": "INFO",
        }
    )
    return env


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    return result.stdout


def wait_http(port: int, path: str = "/healthz", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path, headers={"Host": "localhost"})
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}")


@contextmanager
def sandbox(latency_ms: int) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "drgero_client.sandbox",
            "--port",
            str(port),
            "--seed",
            "demo",
            "--latency-ms",
            str(latency_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def dockerfile_cmd(port: int) -> list[str]:
    line = next(x for x in (ROOT / "Dockerfile").read_text().splitlines() if x.startswith("CMD ["))
    cmd = json.loads(line[4:])
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    cmd[0] = str(Path(PYTHON).parent / cmd[0])
    return cmd


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[tuple[int, list[str]]]:
    port = free_port()
    cmd = dockerfile_cmd(port)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_http(port)
        yield port, cmd
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Browser:
    """A signed-in member over one keep-alive connection, as the proxy would forward them."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        sent = {
            "Host": "localhost",
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            **(headers or {}),
        }
        self.conn.request(method, path, body=body, headers=sent)
        response = self.conn.getresponse()
        data = response.read()
        for line in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data, {k.lower(): v for k, v in response.getheaders()}

    def log_in(self, username: str, password: str) -> None:
        self.request("GET", "/login/")
        csrf = self.cookies["csrftoken"]
        form = f"csrfmiddlewaretoken={csrf}&username={username}&password={password}"
        status, _, _ = self.request(
            "POST",
            "/login/",
            form,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": "https://localhost/login/",
            },
        )
        if status != 302:
            raise RuntimeError(f"log-in failed ({status})")


def timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(rounds: list[float]) -> str:
    """``median (min–max)`` over repetitions."""
    return f"{statistics.median(rounds):.1f} ({min(rounds):.1f}–{max(rounds):.1f})"


CREATE_MEMBER = """
from console.roles import Role
from console.services.team import set_role_groups
from console.services.tokens import token_save
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username="bench")
user.set_password({password!r}); user.save()
set_role_groups(user, Role.ADMIN)
if {token!r}:
    outcome = token_save(user=user, token={token!r}, label="bench")
    assert outcome.ok, outcome.problem
"""


def create_member(env: dict[str, str], token: str | None) -> None:
    manage(env, "shell", "-c", CREATE_MEMBER.format(password=PASSWORD, token=token or ""))


def pytest_run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The project's pytest in a subprocess, its output kept (for `make fuzz` and `make chaos`)."""
    out = subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    print(out.stdout[-6000:], out.stderr[-3000:])
    return out
