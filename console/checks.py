"""System checks, and the production start-up guard that runs them."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

DEMO_USERNAME = "demo"


@checks.register("console", deploy=True)
def demo_account_absent(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """Production refuses to run while the demo account (demo/demo) exists."""
    if getattr(settings, "CONSOLE_ENV", "") != "production":
        return []
    from django.contrib.auth import get_user_model

    try:
        exists = get_user_model().objects.filter(username=DEMO_USERNAME).exists()
    except DatabaseError:
        return []  # not migrated yet; migrations come before serving
    if exists:
        return [
            checks.Error(
                "A demo account exists; production refuses to start while it does.",
                hint="Delete the 'demo' user (manage.py shell or the Team page) first.",
                id="console.E001",
            )
        ]
    return []


@checks.register("console", deploy=True)
def shared_queue(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """In production the web processes and the worker need one queue between them."""
    if getattr(settings, "CONSOLE_ENV", "") != "production" or settings.REDIS_URL:
        return []
    return [
        checks.Warning(
            "REDIS_URL is not set: the worker's queue is a SQLite file in CONSOLE_VAR_DIR, "
            "shared only by processes on one machine with that directory.",
            hint="Set REDIS_URL so that the web processes and the worker share one queue "
            "(docs/deploy.md, The worker).",
            id="console.W001",
        )
    ]


def refuse_unsafe_start() -> None:
    """Called by the WSGI entry point: production does not serve while a check fails."""
    if getattr(settings, "CONSOLE_ENV", "") != "production":
        return
    errors = [m for m in demo_account_absent() if m.level >= checks.ERROR]
    if errors:
        raise ImproperlyConfigured(errors[0].msg)
