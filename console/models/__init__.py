"""The console's own records: tokens, the runs mirror, notices and the audit log."""

from console.models.audit import AuditEvent
from console.models.identities import ConfirmedEmail, MemberIdentity
from console.models.intents import CreateIntent
from console.models.notices import (
    Delivery,
    DeliveryChannel,
    DeliveryState,
    MemberSettings,
    Notice,
    TeamWebhook,
)
from console.models.runs import (
    MirrorState,
    ModelSyncState,
    RunOrigin,
    RunRecord,
    RunSubmission,
    RunTransition,
    SubmissionState,
    SweepState,
)
from console.models.tokens import DrGeroToken

__all__ = [
    "AuditEvent",
    "ConfirmedEmail",
    "CreateIntent",
    "Delivery",
    "DeliveryChannel",
    "DeliveryState",
    "DrGeroToken",
    "MemberIdentity",
    "MemberSettings",
    "MirrorState",
    "ModelSyncState",
    "Notice",
    "RunOrigin",
    "RunRecord",
    "RunSubmission",
    "RunTransition",
    "SubmissionState",
    "SweepState",
    "TeamWebhook",
]
