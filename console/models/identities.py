"""Who a member is at the team's identity provider (OpenID Connect)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class MemberIdentity(models.Model):
    """A member's subject at the provider: the one stable key a sign-in is matched by."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_identity"
    )
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    email = models.EmailField(blank=True)
    # True while the provider sets this member's role (CONSOLE_OIDC_ROLE_CLAIM): the Team page
    # then shows the role as the provider's and does not change it by hand.
    role_from_provider = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="identity_issuer_subject")
        ]

    def __str__(self) -> str:
        return f"identity of user {self.user_id}"
