"""The console's Django app configuration."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Dr.Gero Console"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Checks, signal receivers, and the tasks behind console.jobs (so that services can hand
        # work to the worker without importing it).
        from console import checks, signals, tasks  # noqa: F401
