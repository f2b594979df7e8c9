"""``manage.py console_run``: what `make run` starts — the sandbox (demo mode), the worker and
the console. Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, start the sandbox in demo mode and the worker, serve the console."

    requires_system_checks: list[str] = []

    def handle(self, **options: Any) -> None:
        port = int(os.environ.get("PORT", "8000"))
        call_command("migrate", interactive=False, verbosity=0)
        sandbox = None
        if settings.CONSOLE_ENV == "demo":
            from console.services.team import demo_account_ensure
            from drgero_client.sandbox import SandboxServer

            # In-process, on a daemon thread: Ctrl-C stops the console and the sandbox at once.
            # Demo mode's own settings (console/settings/demo.py).
            port_ = getattr(settings, "SANDBOX_PORT")  # noqa: B009
            # The sandbox keeps its world in CONSOLE_VAR_DIR, so a restart shows what was made.
            kept = settings.VAR_DIR / "sandbox-world.json"
            sandbox = SandboxServer("127.0.0.1", port_, seed="demo", keep_in=kept).start()
            account = getattr(settings, "DEMO_ACCOUNT")  # noqa: B009
            demo_account_ensure(**account)
            self.stdout.write(
                f"Dr.Gero sandbox: {sandbox.url} "
                + ("(the demo world as it was left)" if sandbox.resumed else "(demo data)")
                + f"; it is kept in {kept}, and POST {sandbox.url}/__sandbox__/reset starts over"
            )
            self.stdout.write(
                f"Console: http://127.0.0.1:{port}/  — log in as "
                f"{account['username']} / {account['password']} (an Admin)"
            )
        else:
            self.stdout.write(
                f"Console: http://127.0.0.1:{port}/  — Dr.Gero at {settings.DRGERO_API_BASE}. "
                "Create the first Admin with: .venv/bin/python manage.py createsuperuser"
            )
        if getattr(settings, "EMAIL_FILE_PATH", "") and settings.EMAIL_BACKEND.endswith(
            "filebased.EmailBackend"
        ):
            self.stdout.write(f"Emails are written as files under {settings.EMAIL_FILE_PATH}/")
        # The worker: a child process that keeps the runs mirror current and sends notices.
        worker = subprocess.Popen(  # noqa: S603  (this interpreter, this project's manage.py)
            [sys.executable, "manage.py", "run_huey", "--flush-locks"],
            cwd=settings.BASE_DIR,
            env=os.environ.copy(),
        )
        self.stdout.write(f"Worker: manage.py run_huey (pid {worker.pid})")
        # Ctrl-C reaches the whole process group; a plain SIGTERM reaches only this process, so
        # it too unwinds through the finally below and stops the worker.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            serve(port)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
            if sandbox is not None:
                sandbox.stop()


def serve(port: int) -> None:
    """Django's development server, without its stall.

    It writes a response's headers and body separately; with Nagle's algorithm on, the body
    then waits for the client's delayed ACK (about 40 ms whenever requests follow each other
    closely, as htmx's do). socketserver's own switch turns the algorithm off.
    """
    from django.core.servers import basehttp

    basehttp.WSGIRequestHandler.disable_nagle_algorithm = True
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
