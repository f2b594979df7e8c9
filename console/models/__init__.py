"""The console's own records: members' Dr.Gero tokens, the runs mirror and the audit log."""

from console.models.audit import AuditEvent
from console.models.runs import ModelSyncState, RunOrigin, RunRecord, RunSubmission, SubmissionState
from console.models.tokens import DrGeroToken

__all__ = [
    "AuditEvent",
    "DrGeroToken",
    "ModelSyncState",
    "RunOrigin",
    "RunRecord",
    "RunSubmission",
    "SubmissionState",
]
