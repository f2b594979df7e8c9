"""Production mode, the Dockerfile's command: every secret from the environment, HTTPS only."""

from console.settings.base import *  # noqa: F403
from console.settings.base import (
    ALLOWED_HOSTS,
    CONSOLE_OIDC_ISSUER,
    env,
    env_bool,
    keyring,
    oidc_issuer_check,
    require,
)

CONSOLE_ENV = "production"
DEBUG = False

SECRET_KEY = require("DJANGO_SECRET_KEY")
CONSOLE_TOKEN_KEYS = keyring("CONSOLE_TOKEN_KEYS", require("CONSOLE_TOKEN_KEYS"))
CONSOLE_AUDIT_KEYS = keyring("CONSOLE_AUDIT_KEYS", require("CONSOLE_AUDIT_KEYS"))
require("DATABASE_URL")
require("DJANGO_ALLOWED_HOSTS")
# Links in emails and webhooks: the first allowed host over https unless CONSOLE_URL says.
CONSOLE_URL = env("CONSOLE_URL", f"https://{ALLOWED_HOSTS[0]}").rstrip("/")
CONSOLE_WEBHOOK_ALLOW_LOOPBACK_HTTP = False
if CONSOLE_OIDC_ISSUER:
    oidc_issuer_check(CONSOLE_OIDC_ISSUER, allow_loopback_http=False)  # no http issuer here

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The proxy terminates TLS and says so; /healthz and /readyz answer plain http for probes.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("CONSOLE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

SILENCED_SYSTEM_CHECKS = [
    # HSTS preload binds the whole parent domain, which is the operator's decision, not ours.
    "security.W021",
]
