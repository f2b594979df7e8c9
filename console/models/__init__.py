"""The console's own records: members' Dr.Gero tokens and the audit log."""

from console.models.audit import AuditEvent
from console.models.tokens import DrGeroToken

__all__ = ["AuditEvent", "DrGeroToken"]
