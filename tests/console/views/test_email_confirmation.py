"""A member's address: changed on Your settings (audited), confirmed once by a mailed link."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from console.models import AuditEvent, ConfirmedEmail
from console.roles import Role
from console.services import emails
from console.services.emails import email_confirmed

pytestmark = pytest.mark.django_db

SETTINGS = "/account/notifications/"


def save_address(client: Client, email: str) -> Any:
    return client.post(SETTINGS, {"email": email, "theme": "system"})


def mailed_link() -> str:
    found = re.search(r"http://testserver(/account/email/confirm/[^/\s]+/)", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


def test_a_typed_address_is_unconfirmed_until_its_link_is_followed(
    login_as: Any, mailoutbox: list[Any]
) -> None:
    client = login_as(Role.VIEWER)
    assert save_address(client, "me@team.example").status_code == 302
    assert [m.to for m in mailoutbox] == [["me@team.example"]]
    assert "the member viewer-member" in mailoutbox[0].body
    assert not email_confirmed(client.user)
    page = client.get(SETTINGS).content.decode()
    assert "is <strong>not confirmed</strong>" in page and "Send the link again" in page
    done = client.get(mailed_link(), follow=True)
    assert "Your email address is confirmed." in done.content.decode()
    client.user.refresh_from_db()
    assert email_confirmed(client.user)
    assert "me@team.example</strong> is confirmed" in client.get(SETTINGS).content.decode()
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["account.email_change", "account.email_confirm"]


def test_a_link_works_once(login_as: Any, mailoutbox: list[Any]) -> None:
    client = login_as(Role.VIEWER)
    save_address(client, "me@team.example")
    link = mailed_link()
    client.get(link)
    ConfirmedEmail.objects.update(email="")  # were the first use undone, the link still fails
    again = client.get(link, follow=True).content.decode()
    assert "already used" in again
    client.user.refresh_from_db()
    assert not email_confirmed(client.user)


def test_a_newer_link_replaces_the_older_one(
    login_as: Any, mailoutbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emails, "RESEND_AFTER", timedelta(0))
    client = login_as(Role.VIEWER)
    save_address(client, "me@team.example")
    first = mailed_link()
    client.post("/account/email/send/")
    assert len(mailoutbox) == 2
    assert "already used" in client.get(first, follow=True).content.decode()
    assert "is confirmed" in client.get(mailed_link(), follow=True).content.decode()


def test_an_expired_link_is_refused(
    login_as: Any, mailoutbox: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = login_as(Role.VIEWER)
    save_address(client, "me@team.example")
    monkeypatch.setattr(emails, "LINK_LIFETIME", timedelta(seconds=-1))
    assert "has expired" in client.get(mailed_link(), follow=True).content.decode()
    client.user.refresh_from_db()
    assert not email_confirmed(client.user)


def test_a_link_for_another_member_is_refused(login_as: Any, mailoutbox: list[Any]) -> None:
    owner = login_as(Role.VIEWER, username="owner")
    save_address(owner, "owner@team.example")
    other = login_as(Role.ADMIN, username="other")
    words = other.get(mailed_link(), follow=True).content.decode()
    assert "for another member" in words
    assert not ConfirmedEmail.objects.exclude(email="").exists()


def test_a_tampered_link_is_refused(login_as: Any, mailoutbox: list[Any]) -> None:
    client = login_as(Role.VIEWER)
    save_address(client, "me@team.example")
    link = mailed_link()
    forged = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
    assert "not valid" in client.get(forged, follow=True).content.decode()


def test_changing_the_address_again_unconfirms_it(login_as: Any, mailoutbox: list[Any]) -> None:
    client = login_as(Role.VIEWER)
    save_address(client, "me@team.example")
    client.get(mailed_link())
    save_address(client, "new@team.example")
    client.user.refresh_from_db()
    assert not email_confirmed(client.user)
    change = AuditEvent.objects.filter(action="account.email_change").order_by("-seq").first()
    assert change is not None
    assert json.loads(change.changes) == {
        "before": {"email": "me@team.example"},
        "after": {"email": "new@team.example"},
    }


def test_an_admins_invitation_confirms_the_address_and_the_team_page_says_so(
    login_as: Any,
) -> None:
    admin = login_as(Role.ADMIN)
    admin.post("/team/add/", {"username": "invited", "email": "in@team.example", "role": "viewer"})
    page = admin.get("/team/").content.decode()
    assert "in@team.example · confirmed" in page
    typed = login_as(Role.VIEWER, username="typed")
    save_address(typed, "typed@team.example")
    assert "typed@team.example · not confirmed" in admin.get("/team/").content.decode()


def test_an_address_longer_than_the_column_is_refused_by_the_form(login_as: Any) -> None:
    client = login_as(Role.VIEWER)
    long = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".example"
    assert len(long) > 254
    refused = save_address(client, long)
    assert refused.status_code == 422
    assert "at most 254 characters" in refused.content.decode()
    client.user.refresh_from_db()
    assert client.user.email == ""
    admin = login_as(Role.ADMIN)
    added = admin.post("/team/add/", {"username": "longmail", "email": long, "role": "viewer"})
    assert added.status_code == 422 and "at most 254 characters" in added.content.decode()


def test_a_mail_server_that_refuses_loses_nothing(
    login_as: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smtplib

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(emails, "send_mail", refuse)
    client = login_as(Role.VIEWER)
    page = client.post(SETTINGS, {"email": "me@team.example", "theme": "system"}, follow=True)
    assert "could not be sent just now" in page.content.decode()
    client.user.refresh_from_db()
    assert client.user.email == "me@team.example"
