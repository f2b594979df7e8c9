"""Every sign-in is an audit event with its method: by password or through the team's identity
provider, succeeded or refused. The log-in view and the provider's callback call this after
signing the member in; refusals are recorded where they are decided."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from console.services.audit import Actor, Target, audit_record

METHOD_KEY = "console_sign_in"  # in the session: how this member signed in


def sign_in_recorded(request: HttpRequest, user: Any, method: str) -> None:
    request.session[METHOD_KEY] = method
    audit_record(
        actor=Actor.of(user),
        action="account.sign_in",
        outcome="succeeded",
        target=Target("member", str(user.pk), user.get_username()),
        changes={"method": method},
        request=request,
    )


def sign_in_refused(
    request: HttpRequest | None, *, method: str, reason: str, user: Any = None, name: str = ""
) -> None:
    target = (
        Target("member", str(user.pk), user.get_username()) if user else Target("member", "", name)
    )
    audit_record(
        actor=Actor(None, "sign-in"),
        action="account.sign_in",
        outcome="failed",
        target=target,
        changes={"method": method, "reason": reason},
        message=reason,
        request=request,
    )
