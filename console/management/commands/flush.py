"""Django's flush, which in test mode may also empty the append-only audit table on SQLite.

The test suite flushes every table between transactional and browser tests; without this the
audit triggers would make that flush fail and leak rows into the next test. Outside test mode
this is Django's flush unchanged, and the triggers refuse it.
"""

from typing import Any

from django.conf import settings
from django.core.management.commands.flush import Command as DjangoFlush

from console.signals import allow_audit_flush


class Command(DjangoFlush):
    def handle(self, **options: Any) -> None:
        testing = getattr(settings, "CONSOLE_ENV", "") == "test"
        allow_audit_flush(testing)
        try:
            super().handle(**options)
        finally:
            allow_audit_flush(False)
