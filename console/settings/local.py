"""What demo and dev share: keys generated once into var/ unless the environment gives them."""

from __future__ import annotations

import secrets

from console.settings.base import *  # noqa: F403
from console.settings.base import EMAIL_URL, VAR_DIR, env, keyring
from console.settings.keys import generated_value, new_keyring_entry

VAR_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet
SECRET_KEY = env("DJANGO_SECRET_KEY") or generated_value(
    VAR_DIR, "secret-key", lambda: secrets.token_urlsafe(50)
)
CONSOLE_TOKEN_KEYS = keyring(
    "CONSOLE_TOKEN_KEYS",
    env("CONSOLE_TOKEN_KEYS")
    or generated_value(VAR_DIR, "token-keys", lambda: new_keyring_entry("local1")),
)
CONSOLE_AUDIT_KEYS = keyring(
    "CONSOLE_AUDIT_KEYS",
    env("CONSOLE_AUDIT_KEYS")
    or generated_value(VAR_DIR, "audit-keys", lambda: new_keyring_entry("local1")),
)

# No collectstatic step for local runs: whitenoise serves straight from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# Without a mail server configured, each message is written as a file under var/mail/, so
# anyone can see what would have been sent.
if not EMAIL_URL and not env("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
