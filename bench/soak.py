"""`make soak`: the deployment a team runs (docker-compose.yml), as local processes, under faults.

PostgreSQL (a database of its own), Redis (a server of its own, so restarting it disturbs no one),
two gunicorn replicas with the Dockerfile's command behind a small round-robin proxy, two Huey
workers (one with ``--no-periodic``), the sandbox with latency and one call in ten failing, and a
webhook receiver over TLS. Twenty members browse, start runs, edit schedules, check for updates
and read their notices for ``SOAK_MINUTES`` (10). Meanwhile a worker and a web replica are killed
with SIGKILL and restarted, and Redis is restarted once (``SOAK_KILLS=0`` leaves them alone).

At the end it checks what a team relies on and writes it to docs/benchmarks.md: each run that
ended was told once (one notice, one email per recipient, one webhook call), the mirror equals
the sandbox, every write the sandbox saw has its audit event and ``verify_audit`` passes, no page
answered 500; with p50/p99 per page and Dr.Gero calls per minute.

Everything listens on, and is called at, 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import email
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.common import (
    BENCH_DIR,
    PASSWORD,
    PYTHON,
    ROOT,
    dockerfile_cmd,
    free_port,
    manage,
    pct,
    production_env,
    wait_http,
)
from bench.doc import replace_section

MINUTES = float(os.environ.get("SOAK_MINUTES", "10"))
KILLS = os.environ.get("SOAK_KILLS", "1") != "0"
MEMBERS = int(os.environ.get("SOAK_MEMBERS", "20"))
LATENCY_MS = 50
FAULT_CHANCE = 0.10
SPEED = 4.0  # the sandbox's clock: a run queues 5 s and trains 30 s
DIR = BENCH_DIR / "soak"
FULL = "drgero_sandbox_full"
DATABASE = os.environ.get("SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/console_soak")


# The processes.


class Process:
    """A child in its own process group, so SIGKILL reaches all of it (gunicorn's workers)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        self.name, self.cmd, self.env = name, cmd, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Process:
        log = open(DIR / f"{self.name}.log", "ab")  # noqa: SIM115  (kept open for the child)
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        self.starts += 1
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def fresh_database() -> None:
    import psycopg

    base, _, name = DATABASE.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# The webhook receiver, over TLS with a certificate of its own that the console is told to trust.


def certificate() -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = DIR / "receiver.pem", DIR / "receiver.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class Receiver:
    def __init__(self, cert: Path, key: Path) -> None:
        self.runs: Counter[str] = Counter()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                receiver.runs[body["run"]["id"]] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://localhost:{self.server.server_port}/hooks/soak"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# The round-robin proxy in front of the replicas (what nginx or a load balancer does).


class Proxy:
    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.turn = 0
        self.lock = threading.Lock()
        self.broken = 0  # answers the proxy had to make up: a replica died mid-request
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                proxy.forward(self)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        body = handler.rfile.read(length) if length else None
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "connection"}
        with self.lock:
            order = [self.backends[(self.turn + i) % len(self.backends)] for i in range(2)]
            self.turn += 1
        for port in order:  # a replica that refuses the connection is skipped: nothing was sent
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                conn.connect()
            except OSError:
                continue
            try:
                conn.request(handler.command, handler.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.broken += 1
                break
            finally:
                conn.close()
            handler.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                    handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return
        handler.send_response(502)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


# The members.

SETUP = """
import json
from django.contrib.auth import get_user_model
from console.models import MemberSettings
from console.roles import Role
from console.services.team import set_role_groups
from console.services.tokens import token_save
from console.services.webhook import webhook_save
people = json.loads({people!r})
for p in people:
    user, _ = get_user_model().objects.get_or_create(username=p["name"])
    user.set_password({password!r}); user.email = p["name"] + "@team.example"; user.save()
    set_role_groups(user, Role[p["role"]])
    MemberSettings.objects.update_or_create(
        user=user, defaults={{"email_my_runs": True, "email_team_failures": p["failures"]}}
    )
    if p["token"]:
        for _ in range(5):
            if token_save(user=user, token={token!r}, label="soak").ok:
                break
        else:
            raise SystemExit("a token could not be saved")
admin = get_user_model().objects.get(username=people[0]["name"])
problem = webhook_save(actor=admin, url={hook!r})
assert problem is None, problem
"""


def people() -> list[dict[str, Any]]:
    found = []
    for i in range(MEMBERS):
        role = "ADMIN" if i < 2 else "OPERATOR" if i < 8 else "VIEWER"
        found.append(
            {
                "name": f"soak{i:02d}",
                "role": role,
                "token": role != "VIEWER" or i % 2 == 0,
                "failures": i % 5 == 0,
            }
        )
    return found


class Member:
    """One person in a browser: keep-alive to the proxy, cookies, CSRF, think time."""

    def __init__(self, port: int, person: dict[str, Any], models: list[str], log: Any) -> None:
        self.port, self.person, self.models, self.log = port, person, models, log
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None
        self.rng = random.Random(person["name"])  # noqa: S311  (a load pattern)

    def request(
        self,
        label: str,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        headers = {
            "Host": "localhost",
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            **(extra or {}),
        }
        body = None
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = "&".join(f"{k}={v}" for k, v in form.items())
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://localhost{path}"
        started = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            self.conn = None
            self.log(label, -1, (time.perf_counter() - started) * 1000)
            return -1, ""
        self.log(label, response.status, (time.perf_counter() - started) * 1000)
        for line in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def log_in(self) -> bool:
        self.request("log in", "GET", "/login/")
        status, _ = self.request(
            "log in", "POST", "/login/", {"username": self.person["name"], "password": PASSWORD}
        )
        return status == 302

    def act(self) -> None:
        model = self.rng.choice(self.models)
        acting = self.person["role"] != "VIEWER" and self.person["token"]
        roll = self.rng.random()
        if acting and roll < 0.10:
            self.start_run(model)
        elif acting and roll < 0.15:
            self.edit_schedule(model)
        elif acting and roll < 0.22:
            self.request("POST sync", "POST", f"/models/{model}/sync/", {"next": "/runs/"})
        elif roll < 0.40:
            self.request("/notices/", "GET", "/notices/", extra={"HX-Request": "true"})
        else:
            label, path = self.rng.choice(
                [
                    ("/models/", "/models/"),
                    ("/models/<id>/", f"/models/{model}/"),
                    ("/models/<id>/runs/", f"/models/{model}/runs/"),
                    ("/runs/", "/runs/"),
                    ("/audit/", "/audit/"),
                    ("/account/notifications/", "/account/notifications/"),
                ]
            )
            status, page = self.request(label, "GET", path)
            runs = re.findall(r'href="/runs/([0-9a-f-]{36})/"', page)
            if runs and self.rng.random() < 0.5:
                self.request("/runs/<id>/", "GET", f"/runs/{self.rng.choice(runs)}/")

    def start_run(self, model: str) -> None:
        status, page = self.request("/models/<id>/runs/new/", "GET", f"/models/{model}/runs/new/")
        if "/runs/preview/" not in page:
            return  # a run of this model is going: the page says so
        form = {"size": "rows", "rows": "1000", "algorithm": "LAST_N"}
        preview = f"/models/{model}/runs/preview/"
        status, page = self.request("POST run preview", "POST", preview, form)
        found = re.search(r'action="(/models/[^"]+/runs/confirm/[0-9a-f-]+/)"', page)
        if found:
            self.request("POST run confirm", "POST", found.group(1), {})

    def edit_schedule(self, model: str) -> None:
        on = self.rng.random() < 0.5
        form = {"enabled": "on" if on else "off"}
        if on:
            cadence = self.rng.choice(["DAILY", "WEEKLY", "MONTHLY"])
            form |= {"cadence": cadence, "size": "rows", "rows": "500", "algorithm": "LAST_N"}
        self.request("POST schedule", "POST", f"/models/{model}/schedule/confirm/", form)


# The run.


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[int] = Counter()
        self.by_page_500: Counter[str] = Counter()

    def __call__(self, label: str, status: int, ms: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 200:
                self.times[label].append(ms)
            if status == 500:
                self.by_page_500[label] += 1


def sandbox_call(port: int, method: str, path: str, body: Any = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        method,
        path,
        body=json.dumps(body) if body is not None else None,
        headers={"Authorization": f"Bearer {FULL}", "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    data = response.read()
    return json.loads(data) if data else None


def redis_process(port: int) -> Process:
    return Process(
        "redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
    )


def wait_redis(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("Redis did not start")


CHECK = """
import json
from collections import Counter
from console.models import AuditEvent, Delivery, Notice, RunRecord, RunTransition
from console.selectors.mirror import FINAL_CATEGORIES
ended = list(RunRecord.objects.filter(category__in=FINAL_CATEGORIES).values(
    "run_id", "model_id", "category", "origin", "started_by_id"))
notices = Counter((n["run__run_id"], n["user_id"]) for n in
    Notice.objects.filter(kind="run_ended").values("run__run_id", "user_id"))
deliveries = list(Delivery.objects.values("run__run_id", "channel", "recipient", "state",
    "attempts"))
ENDS = ["succeeded", "failed", "cancelled"]
told = sorted(set(RunTransition.objects.filter(to_category__in=ENDS).exclude(
    from_category__in=[*ENDS, "gone", ""]).values_list("run__run_id", flat=True)))
mirror = {}
for r in RunRecord.objects.values("model_id", "run_id", "status"):
    mirror.setdefault(r["model_id"], {})[r["run_id"]] = r["status"]
actions = Counter(AuditEvent.objects.values_list("action", flat=True))
print("SOAK-STATE " + json.dumps({"ended": ended, "told": told,
    "notices": [[k[0], k[1], v] for k, v in notices.items()],
    "deliveries": deliveries, "mirror": mirror, "actions": actions,
    "active": RunRecord.objects.filter(category__in=["queued", "running"]).count(),
    "pending": Delivery.objects.filter(state="pending").count()}, default=str))
"""


def mails(directory: Path) -> Counter[tuple[str, str]]:
    """(run id, address) of every email written by the file backend."""
    found: Counter[tuple[str, str]] = Counter()
    for path in directory.glob("*.log") if directory.exists() else []:
        for chunk in path.read_text().split("-" * 79):
            if not chunk.strip():
                continue
            message = email.message_from_string(chunk.strip())
            run = re.search(r"/runs/([0-9a-f-]{36})/", message.get_payload())
            if run:
                found[(run.group(1), str(message["To"]))] += 1
    return found


def main() -> int:  # noqa: C901, PLR0915  (one scenario, told in order)
    shutil.rmtree(DIR, ignore_errors=True)
    DIR.mkdir(parents=True)
    fresh_database()
    cert, key = certificate()
    receiver = Receiver(cert, key)
    redis_port, sandbox_port = free_port(), free_port()
    redis = redis_process(redis_port).start()
    wait_redis(redis_port)
    sandbox = Process(
        "sandbox",
        [
            PYTHON,
            "-m",
            "drgero_client.sandbox",
            "--port",
            str(sandbox_port),
            "--seed",
            "demo",
            "--latency-ms",
            str(LATENCY_MS),
            "--speed",
            str(SPEED),
        ],
    ).start()
    wait_http(sandbox_port)
    env = production_env(DATABASE, f"http://127.0.0.1:{sandbox_port}")
    env |= {
        "CONSOLE_VAR_DIR": str(DIR),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "EMAIL_URL": f"file:///{DIR / 'mail'}",  # dj-email-url drops one leading slash
        "CONSOLE_WEBHOOK_ALLOW_PRIVATE": "1",
        "REQUESTS_CA_BUNDLE": str(cert),
        "CONSOLE_SYNC_ACTIVE_SECONDS": "5",
        "CONSOLE_SYNC_IDLE_SECONDS": "30",
        "LOG_LEVEL": "WARNING",
    }
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    team = people()
    manage(
        env,
        "shell",
        "-c",
        SETUP.format(people=json.dumps(team), password=PASSWORD, token=FULL, hook=receiver.url),
    )
    web_ports = [free_port(), free_port()]
    webs = [Process(f"web{i}", dockerfile_cmd(p), env).start() for i, p in enumerate(web_ports)]
    workers = [
        Process("worker0", [PYTHON, "manage.py", "run_huey", "--flush-locks"], env).start(),
        Process("worker1", [PYTHON, "manage.py", "run_huey", "--no-periodic"], env).start(),
    ]
    processes = [redis, sandbox, *webs, *workers]
    events: list[str] = []
    stats = Stats()
    try:
        for port in web_ports:
            wait_http(port, timeout=60)
        proxy = Proxy(web_ports)
        models = [
            m["id"] for m in sandbox_call(sandbox_port, "GET", "/api/models?limit=50")["models"]
        ]
        for status in (503, 429):  # one call in ten fails, spread over the API
            sandbox_call(
                sandbox_port,
                "POST",
                "/__sandbox__/faults",
                {"path": "/api/.*", "status": status, "chance": FAULT_CHANCE / 2},
            )
        started = time.monotonic()
        deadline = started + MINUTES * 60
        calls_before = len(sandbox_call(sandbox_port, "GET", "/__sandbox__/requests")["requests"])

        def member(person: dict[str, Any]) -> None:
            me = Member(proxy.port, person, models, stats)
            for _ in range(10):
                if me.log_in():
                    break
                time.sleep(1)
            for _ in range(100_000):  # bounded; the deadline ends it first
                if time.monotonic() >= deadline:
                    return
                me.act()
                time.sleep(me.rng.uniform(0.5, 2.0))

        threads = [threading.Thread(target=member, args=(p,), daemon=True) for p in team]
        for thread in threads:
            thread.start()
        plan = (
            [
                (0.3, "kill -9 the periodic worker", workers[0]),
                (0.5, "kill -9 a web replica", webs[1]),
                (0.7, "restart Redis", redis),
            ]
            if KILLS
            else []
        )
        for share, what, victim in plan:
            time.sleep(max(0.0, started + share * MINUTES * 60 - time.monotonic()))
            victim.kill()
            events.append(f"{time.monotonic() - started:.0f} s: {what}")
            time.sleep(5)
            victim.start()
            if victim is redis:
                wait_redis(redis_port)
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic() + 180))
        elapsed = time.monotonic() - started
        calls = len(sandbox_call(sandbox_port, "GET", "/__sandbox__/requests")["requests"])
        calls -= calls_before

        # Settle: faults off, every run to its end, every delivery sent.
        sandbox_call(sandbox_port, "DELETE", "/__sandbox__/faults")
        sandbox_call(sandbox_port, "POST", "/__sandbox__/clock", {"advance": 7200})
        settle = time.monotonic() + 240
        state: dict[str, Any] = {}
        while time.monotonic() < settle:
            out = manage(env, "shell", "-c", CHECK)
            line = next(x for x in out.splitlines() if x.startswith("SOAK-STATE "))
            state = json.loads(line.removeprefix("SOAK-STATE "))
            if not state["active"] and not state["pending"]:
                break
            time.sleep(3)
        verified = subprocess.run(
            [PYTHON, "manage.py", "verify_audit"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        seen = sandbox_call(sandbox_port, "GET", "/__sandbox__/requests")["requests"]
        truth = {}
        for model_id in models:
            runs = sandbox_call(sandbox_port, "GET", f"/api/models/{model_id}/fine-tune/runs")
            truth[model_id] = {r["id"]: r["status"] for r in runs["runs"]}
    finally:
        for process in processes:
            process.stop()
        receiver.server.shutdown()

    # The verdicts.
    problems: list[str] = []
    sent_mail = mails(DIR / "mail")
    notices = {(r, u): n for r, u, n in state["notices"]}
    ended = list(state["ended"])
    told = set(state["told"])  # runs the console saw end (not first seen already ended)
    console_ended = [
        r for r in ended if r["origin"] == "console" and r["started_by_id"] and r["run_id"] in told
    ]
    for run in console_ended:
        count = notices.get((run["run_id"], run["started_by_id"]), 0)
        if count != 1:
            problems.append(f"run {run['run_id']}: {count} notices to its starter")
    email_deliveries = [d for d in state["deliveries"] if d["channel"] == "email"]
    mailed_runs = Counter(run for run, _ in sent_mail.elements())
    wanted_runs = Counter(d["run__run_id"] for d in email_deliveries)
    if mailed_runs != wanted_runs:
        problems.append(
            f"emails per run differ from the deliveries: {mailed_runs - wanted_runs}"
            f" extra, {wanted_runs - mailed_runs} missing"
        )
    twice = [k for k, n in sent_mail.items() if n > 1]
    if twice:
        problems.append(f"{len(twice)} emails went to the same person about the same run twice")
    hooks = [d for d in state["deliveries"] if d["channel"] == "webhook"]
    hook_runs = Counter(d["run__run_id"] for d in hooks)
    if Counter(dict(receiver.runs)) != hook_runs:
        problems.append(f"webhook calls {dict(receiver.runs)} differ from {dict(hook_runs)}")
    missing_hook = told - set(hook_runs)
    if missing_hook:
        problems.append(f"{len(missing_hook)} ended runs have no webhook delivery")
    unsent = [d for d in state["deliveries"] if d["state"] != "sent"]
    if unsent:
        problems.append(f"{len(unsent)} deliveries not sent: {unsent[:3]}")
    for model_id, runs in truth.items():
        mirrored = state["mirror"].get(model_id, {})
        if mirrored != runs:
            extra = set(mirrored) - set(runs)
            lacking = set(runs) - set(mirrored)
            differ = {k for k in set(runs) & set(mirrored) if runs[k] != mirrored[k]}
            problems.append(
                f"model {model_id}: mirror differs ({len(lacking)} missing, {len(extra)} extra, "
                f"{len(differ)} with another status)"
            )
    writes = Counter()
    for r in seen:
        if r["method"] == "POST" and r["path"].endswith("/fine-tune/run"):
            writes["run.start"] += 1
        elif r["method"] == "POST" and r["path"].endswith("/fine-tune/sync"):
            writes["run.sync"] += 1
        elif r["method"] == "PATCH":
            writes["schedule"] += 1
    audited = {
        "run.start": state["actions"].get("run.start", 0),
        "run.sync": state["actions"].get("run.sync", 0),
        "schedule": state["actions"].get("schedule.update", 0)
        + state["actions"].get("schedule.clear", 0),
    }
    for kind, count in writes.items():
        if audited[kind] < count:
            problems.append(f"{count} {kind} writes reached the sandbox, {audited[kind]} audited")
    if verified.returncode != 0:
        problems.append(f"verify_audit failed: {verified.stdout[-300:]} {verified.stderr[-300:]}")
    # 502 and 503 are the console's own words for "Dr.Gero failed" (and the proxy's 502 for a
    # replica killed mid-request); a 500 is the console failing.
    five_hundreds = stats.statuses.get(500, 0)
    if five_hundreds:
        problems.append(f"{five_hundreds} answers of 500: {dict(stats.by_page_500)}")

    requests_total = sum(stats.statuses.values())
    lines = [
        "## Soak (`make soak`)",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC for {elapsed / 60:.1f} min: "
        + ("**passed**." if not problems else "**FAILED**: " + "; ".join(problems[:6]) + "."),
        f"PostgreSQL, Redis, two gunicorn replicas (the Dockerfile's command) behind a round-robin "
        f"proxy, two Huey workers (one `--no-periodic`), the sandbox at {LATENCY_MS} ms with one "
        f"call in {round(1 / FAULT_CHANCE)} failing (503 or 429), a TLS webhook receiver; "
        f"{len(team)} members. "
        + ("Faults: " + "; ".join(events) + "." if events else "No kills (`SOAK_KILLS=0`)."),
        "",
        f"- Requests: {requests_total:,}; statuses "
        + ", ".join(f"{s}: {n:,}" for s, n in sorted(stats.statuses.items()))
        + f"; the proxy made up {proxy.broken} answers for requests a killed replica dropped "
        "(-1: the connection broke on the member's side).",
        f"- Runs seen ending: {len(told)} ({len(console_ended)} started in the console); "
        f"notices {sum(notices.values())}, emails {sum(sent_mail.values())} "
        f"(deliveries {len(email_deliveries)}), webhook calls {sum(receiver.runs.values())} "
        f"(deliveries {len(hooks)}).",
        f"- Writes the sandbox saw: {dict(writes)}; audit events: {audited}; `verify_audit` "
        + ("passes." if verified.returncode == 0 else "FAILS."),
        f"- Dr.Gero calls: {calls:,} in {elapsed / 60:.1f} min, {calls / (elapsed / 60):.0f} a "
        "minute.",
        "",
        "| page | requests | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for label in sorted(stats.times):
        values = stats.times[label]
        lines.append(
            f"| {label} | {len(values):,} | {pct(values, 50):.0f} | {pct(values, 99):.0f} |"
        )
    lines.append("")
    print("\n".join(lines))
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    if os.environ.get("SOAK_WRITE_DOC", "1") != "0":
        replace_section("soak", lines)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
