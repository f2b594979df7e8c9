"""Test mode: fixed keys, short Dr.Gero timeouts, a file-based SQLite database in WAL mode."""

from console.settings.base import *  # noqa: F403
from console.settings.base import DATABASES, VAR_DIR, keyring

CONSOLE_ENV = "test"
VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet
DEBUG = False
# Fixed, public test keys: they protect nothing outside the test suite.
SECRET_KEY = "test-secret-key-not-for-any-real-deployment-0123456789abcdef"  # noqa: S105
CONSOLE_TOKEN_KEYS = keyring(
    "CONSOLE_TOKEN_KEYS", "test1:dGVzdC10b2tlbi1rZXktMDAwMDAwMDAwMDAwMDAwMDA="
)
CONSOLE_AUDIT_KEYS = keyring(
    "CONSOLE_AUDIT_KEYS", "test1:dGVzdC1hdWRpdC1rZXktMDAwMDAwMDAwMDAwMDAwMDA="
)
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

DATABASES["default"]["CONN_MAX_AGE"] = 0  # tests open connections from many threads
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that concurrent-write tests use real separate connections.
    DATABASES["default"]["NAME"] = str(VAR_DIR / "test-console.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-console.sqlite3")}

DRGERO_API_BASE = "http://127.0.0.1:9"  # tests point services at their own sandbox
DRGERO_TIMEOUT = (1.0, 0.6)
DRGERO_BACKOFF_BASE = 0.01
DRGERO_RETRY_AFTER_CAP = 0.2

AXES_ENABLED = False
# Tests run the real consumer or execute queued tasks themselves (tests/console/worker.py),
# on SQLite in var/, or on Redis when REDIS_URL is set (CI runs the worker's tests both ways).
HUEY = {
    **HUEY,  # noqa: F405
    "name": "drgero-console-test",
    "immediate": False,
}
if not REDIS_URL:  # noqa: F405
    HUEY["connection"] = {"filename": str(VAR_DIR / "test-huey.sqlite3")}
CONSOLE_URL = "http://testserver"
# Tests roll their transactions back, so the mirror's new state (set on commit) would never
# come; the tests of console.fragments turn it on themselves.
CONSOLE_FRAGMENTS = False
CONSOLE_AUDIT_HEAD_FILE = VAR_DIR / "test-audit-head.json"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
