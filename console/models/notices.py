"""Telling people when runs end: in-app notices, their email and webhook deliveries, choices."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from console.models.runs import RunRecord


class Notice(models.Model):
    """A message for one member, shown as a toast on their next page or poll."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(RunRecord, null=True, blank=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=32)  # run_ended, run_gone, sync_done, sync_failed
    level = models.CharField(max_length=16, default="info")  # a Django message level tag
    text = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    seen_at = models.DateTimeField(null=True, blank=True)  # shown as a toast
    read_at = models.DateTimeField(null=True, blank=True)  # read in the inbox, or its run opened

    class Meta:
        indexes = [
            models.Index(fields=["user", "seen_at"], name="notice_user_seen"),
            models.Index(fields=["user", "read_at"], name="notice_user_read"),
            models.Index(fields=["user", "-created_at", "-id"], name="notice_user_created"),
        ]
        constraints = [
            # A run's end (or its leaving Dr.Gero) is told to each member once, however many
            # workers saw it.
            models.UniqueConstraint(
                fields=["user", "run", "kind"],
                condition=models.Q(kind__in=["run_ended", "run_gone"]),
                name="notice_once_per_run_end",
            )
        ]

    def __str__(self) -> str:
        return f"notice for user {self.user_id}: {self.kind}"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Team webhook"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Gave up"


class Delivery(models.Model):
    """One email or webhook call about a run's end: made once, sent and retried by the worker."""

    run = models.ForeignKey(RunRecord, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=DeliveryChannel.choices)
    # The member's id for email; "team" for the webhook.
    recipient = models.CharField(max_length=64)
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)  # plain words, never the URL
    created_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "channel", "recipient"], name="delivery_once_per_run"
            )
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="delivery_state")]

    def __str__(self) -> str:
        return f"{self.channel} about run {self.run_id} ({self.state})"


class MemberSettings(models.Model):
    """What a member chose on their account page."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_settings"
    )
    email_my_runs = models.BooleanField(default=True)
    email_team_failures = models.BooleanField(default=False)
    time_zone = models.CharField(max_length=64, blank=True)  # "" is CONSOLE_TIME_ZONE
    theme = models.CharField(
        max_length=8,
        default="system",
        choices=[("system", "As your system is set"), ("light", "Light"), ("dark", "Dark")],
    )

    def __str__(self) -> str:
        return f"settings of user {self.user_id}"


class TeamWebhook(models.Model):
    """The team's one webhook (Admins set it on the Team page); the URL is stored encrypted."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    ciphertext = models.TextField()
    key_id = models.CharField(max_length=32)
    host = models.CharField(max_length=255)  # shown to Admins; the path may hold a secret
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    saved_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"team webhook to {self.host}"
