"""Signal receivers: the SQLite function the audit triggers call, and private SQLite files."""

from __future__ import annotations

import os
import stat
from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from console.fragments import mirror_changed

_flush_allowed = False


def allow_audit_flush(allowed: bool) -> None:
    """Only the test suite's flush turns this on (see console/management/commands/flush.py)."""
    global _flush_allowed
    _flush_allowed = allowed


def _audit_flush_allowed() -> int:
    return 1 if _flush_allowed else 0


@receiver(post_save, sender="console.RunRecord")
@receiver(post_delete, sender="console.RunRecord")
def run_written(**kwargs: Any) -> None:
    """The run history's kept table and chart are for the mirror as it was (console.fragments)."""
    mirror_changed()


@receiver(connection_created)
def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "console_audit_flush_allowed", 0, _audit_flush_allowed
        )


@receiver(connection_created)
def keep_sqlite_files_private(sender: Any, connection: Any, **kwargs: Any) -> None:
    """The database and its -wal and -shm files are readable by their owner only (0600), like
    the key files beside them. SQLite gives new -wal and -shm files the database's own mode."""
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        return
    for path in (name, f"{name}-wal", f"{name}-shm"):
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except OSError:
            continue
        if mode & 0o077:
            os.chmod(path, 0o600)


# A password that did not sign anyone in is an audit event (`account.sign_in`, failed); a
# successful sign-in is recorded by the view that signed the member in (console/signin/audit.py).


@receiver(user_login_failed)
def audit_failed_password(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    if "username" not in credentials:
        # The identity provider's refusals are recorded with their reason by signin/provider.py.
        return
    from console.signin.audit import sign_in_refused

    name = str(credentials.get("username") or "")[:150]
    sign_in_refused(request, method="password", reason="wrong username or password", name=name)
