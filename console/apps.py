"""The console's Django app configuration."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Dr.Gero Console"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console import checks, signals  # noqa: F401  (registers checks and receivers)
