"""Demo mode: `make run` without DRGERO_API_BASE — the embedded sandbox and the demo account."""

from console.settings.local import *  # noqa: F403
from console.settings.local import env

CONSOLE_ENV = "demo"
DEBUG = False
SANDBOX_PORT = int(env("SANDBOX_PORT", "8001"))
DRGERO_API_BASE = f"http://127.0.0.1:{SANDBOX_PORT}"
DEMO_ACCOUNT = {
    "username": "demo",
    "password": "demo",
    "token": "drgero_sandbox_full",
    "email": "demo@example.org",
}
CONSOLE_URL = env("CONSOLE_URL", f"http://127.0.0.1:{env('PORT', '8000')}").rstrip("/")
