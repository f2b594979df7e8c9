"""A member's Dr.Gero token, stored encrypted; only a four-character hint is kept in clear."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DrGeroToken(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drgero_token"
    )
    # "v1:<key id>:<base64 nonce+ciphertext>"; see console.crypto.
    ciphertext = models.TextField()
    key_id = models.CharField(max_length=32)
    label = models.CharField(max_length=100, blank=True)
    hint = models.CharField(max_length=4, help_text="The token's last four characters.")
    saved_at = models.DateTimeField()
    checked_at = models.DateTimeField(null=True, blank=True)
    # What the last check found: {"models:read": true, "leaderboards:read": false, ...}
    capabilities = models.JSONField(default=dict, blank=True)
    # Scopes Dr.Gero refused since the last check (a 403 on a write is remembered here).
    refused_scopes = models.JSONField(default=list, blank=True)
    # When the worker first read what this token sees (models and their runs); None until then,
    # while the history says "Reading what your token can see…".
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Dr.Gero token"

    def __str__(self) -> str:
        return f"Dr.Gero token of user {self.user_id}"

    @property
    def masked(self) -> str:
        return f"drgero_…{self.hint}"
