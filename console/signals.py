"""Signal receivers: the SQLite function the audit triggers call."""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created
from django.dispatch import receiver

_flush_allowed = False


def allow_audit_flush(allowed: bool) -> None:
    """Only the test suite's flush turns this on (see console/management/commands/flush.py)."""
    global _flush_allowed
    _flush_allowed = allowed


def _audit_flush_allowed() -> int:
    return 1 if _flush_allowed else 0


@receiver(connection_created)
def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "console_audit_flush_allowed", 0, _audit_flush_allowed
        )
