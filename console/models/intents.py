"""One intent to create a model: a form carries its id, so a resubmission never creates twice."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class CreateIntent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # pending → sending → succeeded | failed (nothing was made; may be sent again)
    #                   → unknown (may have been made: looked for before sending again)
    state = models.CharField(max_length=16, default="pending")
    name = models.CharField(max_length=300, blank=True)
    model_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"create intent {self.id} ({self.state})"
