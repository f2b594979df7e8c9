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


class ConfirmedEmail(models.Model):
    """The address the console has verified for a member, and a confirmation under way.

    A member's address counts as confirmed only while ``user.email`` is this ``email``: an
    address the member types on *Your settings* stays unconfirmed until they follow the link
    mailed to it. Only a confirmed address is ever used to link a provider sign-in.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_email"
    )
    email = models.EmailField(blank=True)  # the confirmed address; "" when none is
    # invitation (an Admin gave it), link (the member followed the mailed link), provider
    # (the identity provider vouched for it when it made the account), setup (the demo account)
    how = models.CharField(max_length=16, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The link under way: the address it confirms and the one-use value it carries.
    pending_email = models.EmailField(blank=True)
    pending_nonce = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"email state of user {self.user_id}"

    def confirms(self, address: str) -> bool:
        return bool(address) and self.email.casefold() == address.casefold()
