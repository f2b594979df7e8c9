"""Settings shared by every mode; each mode module imports these and sets what differs."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from console.settings.keys import KeyringError, parse_keyring

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CONSOLE_VAR_DIR", BASE_DIR / "var"))

DOCUMENTED_API_BASE = "https://dr-gero-frontend-99142474693.europe-west1.run.app"


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if not value:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def require(name: str) -> str:
    """Return a required variable, or refuse to start with a message naming it."""
    value = env(name)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in this mode (see the README's table).")
    return value


ROLE_NAMES = {"viewer": 1, "operator": 2, "admin": 3}


def oidc_role_map(value: str) -> dict[str, str]:
    """``ml-admins:Admin,ml-ops:Operator`` → {"ml-admins": "Admin", …}; a wrong role stops
    the start with a message naming it."""
    found = {}
    for pair in (p.strip() for p in value.split(",") if p.strip()):
        group, _, role = pair.rpartition(":")
        if not group or role.strip().lower() not in ROLE_NAMES:
            raise ImproperlyConfigured(
                f"CONSOLE_OIDC_ROLE_MAP: {pair!r} is not group:Role (Viewer, Operator or Admin)."
            )
        found[group.strip()] = role.strip().title()
    return found


def oidc_issuer_check(issuer: str, *, allow_loopback_http: bool) -> None:
    """The issuer must be https; plain http only for a loopback issuer outside production."""
    from urllib.parse import urlsplit

    from drgero_client.transport import is_loopback_host

    parts = urlsplit(issuer)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and allow_loopback_http and is_loopback_host(parts.hostname or ""):
        return
    raise ImproperlyConfigured(
        "CONSOLE_OIDC_ISSUER must be an https address"
        + (
            " (plain http only for a loopback issuer in demo or dev mode)."
            if allow_loopback_http
            else "."
        )
    )


def origin_of(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def keyring(name: str, value: str) -> dict[str, bytes]:
    try:
        return parse_keyring(value, variable=name)
    except KeyringError as exc:
        raise ImproperlyConfigured(str(exc)) from exc


def drgero_timeout(value: str) -> tuple[float, float]:
    """``"5,30"`` → (connect, read) seconds; a single number is used for both."""
    try:
        parts = [float(p) for p in value.split(",") if p.strip()]
    except ValueError as exc:
        raise ImproperlyConfigured("DRGERO_TIMEOUT must be 'connect,read' in seconds") from exc
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) <= 0:
        raise ImproperlyConfigured("DRGERO_TIMEOUT must be 'connect,read' in seconds")
    return parts[0], parts[1]


CONSOLE_ENV = "base"
DEBUG = False
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "huey.contrib.djhuey",
    "console",
]

MIDDLEWARE = [
    "console.middleware.RequestIdMiddleware",
    "console.middleware.HealthCheckMiddleware",
    "console.middleware.DrGeroBudgetMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After CsrfViewMiddleware: it tells that middleware when the CSRF cookie need not be sent.
    "console.middleware.SlidingSessionMiddleware",
    # Django's AuthenticationMiddleware, the member read at once (not behind a lazy wrapper).
    "console.middleware.MemberMiddleware",
    "console.middleware.HtmxLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "console.middleware.MemberTimeZoneMiddleware",
    "console.middleware.NoticesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "console.middleware.PolicyMiddleware",
    "console.middleware.PageHeadersMiddleware",
    "console.middleware.HtmxMessagesMiddleware",
    # Last, so that a lock-out answers before the view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # django-template-partials' loader (``page.html#partial``) over Django's cached
            # loader, which also keeps each page joined with its layout (console.templating).
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "console.templating.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
            "builtins": ["template_partials.templatetags.partials"],
            # Also what Django's request, auth and messages processors give (the csrf one is
            # Django's own, always first).
            "context_processors": ["console.context_processors.console"],
        },
    }
]

# Plain inputs are rendered in Python (console/forms/renderer.py); the rest by Django.
FORM_RENDERER = "console.forms.renderer.ConsoleFormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'console.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite then keeps that mode)."""
    if path.parent.is_dir() and not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    private_file(Path(DATABASES["default"]["NAME"]))
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "console.signin.backends.MemberBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

# Idle sessions end after this long; console.middleware.SlidingSessionMiddleware pushes the
# expiry forward as a member keeps working (at most one session write a minute).
SESSION_COOKIE_AGE = int(env("CONSOLE_SESSION_IDLE_SECONDS", str(8 * 3600)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "console.views.errors.csrf_failure"

LANGUAGE_CODE = "en"
TIME_ZONE = env("CONSOLE_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

X_FRAME_OPTIONS = "DENY"
# A strict policy: everything from this origin, nothing inline, no eval. htmx runs with
# allowEval off and the layout has no inline script, style or hx-on, so nothing needs exceptions.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "font-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, reading as a miss while Redis restarts (console/cache.py).
            "BACKEND": "console.cache.DegradingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "drgero-console",
        }
    }
    # Sessions are read from the shared cache, written through to the database: a log-out or
    # a deactivation reaches every process at once (never a per-process cache for sessions).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The run history's table and chart, and the models list's rows, are rendered once per state
# of the runs mirror (console/fragments.py). Off (CONSOLE_FRAGMENTS=0) every request renders
# them from the database, as the first request after a change does.
CONSOLE_FRAGMENTS = env_bool("CONSOLE_FRAGMENTS", True)

# Brute-force protection: lock the (username, client address) pair, so another member
# behind the same address can still sign in. One client-address rule serves axes and the audit.
AXES_ENABLED = True
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "console.net.client_ip_for_axes"
AXES_WHITELIST_CALLABLE = "console.net.axes_skips"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

DEFAULT_EXCEPTION_REPORTER_FILTER = "console.debug.TokenSafeExceptionReporterFilter"

CONSOLE_BEHIND_PROXY = env_bool("CONSOLE_BEHIND_PROXY")

DRGERO_API_BASE = env("DRGERO_API_BASE", DOCUMENTED_API_BASE)
DRGERO_TIMEOUT = drgero_timeout(env("DRGERO_TIMEOUT", "5,20"))
DRGERO_MAX_RETRIES = 2
DRGERO_BACKOFF_BASE = 0.5
DRGERO_RETRY_AFTER_CAP = 5.0
# One deadline for all of a page's Dr.Gero calls and their retries together.
DRGERO_PAGE_BUDGET = float(env("DRGERO_PAGE_BUDGET", "8"))

CONSOLE_AUDIT_HEAD_FILE = VAR_DIR / "audit-head.json"
CONSOLE_POLL_SECONDS = 5  # how often run tables re-read the mirror while runs are active


def env_seconds(name: str, default: int, *, least: int = 1) -> int:
    try:
        value = int(env(name, str(default)))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number of seconds") from exc
    if value < least:
        raise ImproperlyConfigured(f"{name} must be at least {least} seconds")
    return value


# The background worker (console/tasks.py, `manage.py run_huey`) keeps the runs mirror current:
# a discovery sweep of every model and its runs, and a quicker sweep of models with active runs.
CONSOLE_SYNC_IDLE_SECONDS = env_seconds("CONSOLE_SYNC_IDLE_SECONDS", 120)
CONSOLE_SYNC_ACTIVE_SECONDS = env_seconds("CONSOLE_SYNC_ACTIVE_SECONDS", 15)
CONSOLE_SYNC_MAX_BACKOFF_SECONDS = 600
CONSOLE_NOTICE_POLL_SECONDS = 20  # how often an open page asks for new notices

# Huey: SQLite in var/ by default (no server), Redis when REDIS_URL is set so that workers on
# several machines share one queue. Exactly one consumer runs the periodic tasks (docs/deploy.md).
HUEY = {
    "name": "drgero-console",
    "immediate": False,
    "utc": True,
    "huey_class": "huey.RedisHuey" if REDIS_URL else "huey.SqliteHuey",
    "connection": {"url": REDIS_URL} if REDIS_URL else {"filename": str(VAR_DIR / "huey.sqlite3")},
    # An idle worker looks at a SQLite queue at least once a second (Redis wakes it at once).
    "consumer": {
        "workers": 2,
        "worker_type": "thread",
        "check_worker_health": True,
        "max_delay": 1.0,
    },
}

if not REDIS_URL:
    # Huey opens its SQLite queue as the app loads; the directory must be there by then.
    # On a read-only or missing volume Huey's own error names the file.
    with contextlib.suppress(OSError):
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        private_file(VAR_DIR / "huey.sqlite3")

# Email: EMAIL_URL (smtp://user:pass@host:587/?tls=True) or the usual EMAIL_HOST… settings.
EMAIL_URL = env("EMAIL_URL")
if EMAIL_URL:
    _email = dj_email_url.parse(EMAIL_URL)
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
    if _email["EMAIL_FILE_PATH"]:
        EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
else:
    EMAIL_HOST = env("EMAIL_HOST", "localhost")
    EMAIL_PORT = int(env("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Dr.Gero Console <console@localhost>")
# The console's own address, for links in emails and webhooks.
CONSOLE_URL = env("CONSOLE_URL", "http://127.0.0.1:8000").rstrip("/")

# The team webhook: a short timeout, no redirects, a few tries. Only https, except to a
# loopback address outside production (the tests' receiver), and only to public addresses
# (console/services/webhook.py) unless CONSOLE_WEBHOOK_ALLOW_PRIVATE opens loopback, private
# and shared ranges for a deployment whose receiver is internal.
CONSOLE_WEBHOOK_TIMEOUT = (3.0, 5.0)
CONSOLE_WEBHOOK_ATTEMPTS = 4
CONSOLE_WEBHOOK_RETRY_SECONDS = 30
CONSOLE_WEBHOOK_ALLOW_LOOPBACK_HTTP = True
CONSOLE_WEBHOOK_ALLOW_PRIVATE = env_bool("CONSOLE_WEBHOOK_ALLOW_PRIVATE")

LOG_LEVEL = env("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = env("LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "console.logs.RedactTokensFilter"},
        "request_id": {"()": "console.logs.RequestIdFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {"()": "console.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "urllib3": {"level": "WARNING"},
        # The development server's access log: query strings may hold a pasted token.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # With a handler here, run_huey adds none of its own: its lines are redacted like ours.
        "huey": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Sign-in through the team's identity provider (OpenID Connect; docs/deploy.md). Off unless
# CONSOLE_OIDC_ISSUER is set; mozilla-django-oidc runs the flow (PKCE, state, nonce) and PyJWT
# checks the ID token (signature against the provider's keys, issuer, audience, expiry).
CONSOLE_OIDC_ISSUER = env("CONSOLE_OIDC_ISSUER")
CONSOLE_OIDC_NAME = env("CONSOLE_OIDC_NAME", "your identity provider")
CONSOLE_OIDC_ALLOWED_DOMAINS = [
    d.lower().lstrip("@") for d in env_list("CONSOLE_OIDC_ALLOWED_DOMAINS")
]
CONSOLE_OIDC_ROLE_CLAIM = env("CONSOLE_OIDC_ROLE_CLAIM")
CONSOLE_OIDC_ROLE_MAP = oidc_role_map(env("CONSOLE_OIDC_ROLE_MAP"))
# "off" hides the password form for everyone but superusers, who use /login/?password=1.
CONSOLE_PASSWORD_LOGIN = env_bool("CONSOLE_PASSWORD_LOGIN", True)
if CONSOLE_OIDC_ISSUER:
    oidc_issuer_check(CONSOLE_OIDC_ISSUER, allow_loopback_http=True)
    # Log-out is a form whose answer sends the browser on to the provider's end-session
    # endpoint; the browser checks that redirect against form-action.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = [SELF, origin_of(CONSOLE_OIDC_ISSUER)]
    AUTHENTICATION_BACKENDS.append("console.signin.provider.ProviderBackend")
    OIDC_RP_CLIENT_ID = require("CONSOLE_OIDC_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = require("CONSOLE_OIDC_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = "RS256"
    OIDC_RP_SCOPES = env("CONSOLE_OIDC_SCOPES", "openid email profile")
    OIDC_USE_PKCE = True
    OIDC_USE_NONCE = True
    OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
    OIDC_AUTHENTICATION_CALLBACK_URL = "console:oidc-callback"
    OIDC_TIMEOUT = 10
    LOGIN_REDIRECT_URL_FAILURE = "console:login"
