"""The audit log: append-only, hash-chained and signed. See console.services.audit."""

from __future__ import annotations

from django.db import models


class AuditOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown"


class AppendOnlyError(Exception):
    """Audit events are never changed or removed."""


class AuditEvent(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=128, blank=True)
    target_name = models.CharField(max_length=300, blank=True)
    model_id = models.CharField(max_length=128, blank=True)
    changes = models.TextField(default="{}")  # JSON text: before/after or request settings
    outcome = models.CharField(max_length=16, choices=AuditOutcome.choices)
    status_code = models.IntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    refers_to_seq = models.PositiveBigIntegerField(null=True, blank=True)
    # Tamper evidence: the exact text that was signed, the chain link, the signature, the key.
    canonical = models.TextField()
    prev_hash = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)
    key_id = models.CharField(max_length=32)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["actor_id", "-seq"], name="audit_actor_seq"),
            models.Index(fields=["actor_username", "-seq"], name="audit_actorname_seq"),
            models.Index(fields=["action", "-seq"], name="audit_action_seq"),
            models.Index(fields=["model_id", "-seq"], name="audit_model_seq"),
            models.Index(fields=["outcome", "-seq"], name="audit_outcome_seq"),
            models.Index(fields=["created_at"], name="audit_created"),
            models.Index(fields=["action", "target_id"], name="audit_action_target"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_username}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit events are never changed")
        super().save(*args, **kwargs)  # type: ignore[arg-type,unused-ignore]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are never removed")
