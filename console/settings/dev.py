"""Dev mode: `make run` with DRGERO_API_BASE set — a real Dr.Gero, no sandbox, no demo account."""

from console.settings.local import *  # noqa: F403
from console.settings.local import env_bool

CONSOLE_ENV = "dev"
DEBUG = env_bool("DJANGO_DEBUG")
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
