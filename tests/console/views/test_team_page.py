"""Team administration: add, change role, deactivate, with the last-Admin rules."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from console.models import AuditEvent, DrGeroToken
from console.roles import Role, role_of
from tests.console.conftest import HTMX
from tests.console.html import has_html

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_the_team_page_lists_members_with_token_status_never_the_token(
    login_as, make_member
) -> None:  # type: ignore[no-untyped-def]
    make_member("withtoken", Role.OPERATOR, token="drgero_secret_team_canary")
    body = login_as(Role.ADMIN).get("/team/").content.decode()
    assert "withtoken" in body and "set" in body
    assert "drgero_secret_team_canary" not in body and "nary" not in body


def test_add_a_member_with_a_password(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.ADMIN)
    response = client.post(
        "/team/add/", {"username": "new", "role": "operator", "password": "a-strong-pass-42"}
    )
    assert response.status_code == 302
    new = User.objects.get(username="new")
    assert role_of(new) == Role.OPERATOR and new.check_password("a-strong-pass-42")
    event = AuditEvent.objects.get(action="team.member_add")
    assert json.loads(event.changes)["after"]["role"] == "Operator"
    assert "a-strong-pass-42" not in event.canonical


def test_add_a_member_with_a_one_time_link(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.ADMIN)
    response = client.post("/team/add/", {"username": "linked", "role": "viewer"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    start = body.index("/account/set-password/")
    link = body[start : body.index("<", start)]
    new_client = Client()
    form = new_client.get(link, follow=True)
    assert b"Set password" in form.content
    done = new_client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "chosen-password-77", "new_password2": "chosen-password-77"},
    )
    assert done.status_code == 302
    assert User.objects.get(username="linked").check_password("chosen-password-77")
    assert new_client.get(link, follow=True).content.count(b"no longer valid") == 1


def test_a_duplicate_username_is_refused_at_the_field(login_as, make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("taken")
    response = login_as(Role.ADMIN).post("/team/add/", {"username": "TAKEN", "role": "viewer"})
    assert response.status_code == 422
    assert b"already exists" in response.content
    assert User.objects.filter(username__iexact="taken").count() == 1


def test_change_a_role_is_audited_with_before_and_after(login_as, make_member) -> None:  # type: ignore[no-untyped-def]
    member = make_member("m", Role.VIEWER)
    client = login_as(Role.ADMIN)
    client.post(f"/team/{member.pk}/role/", {"role": "operator", "step": "confirm"})
    assert role_of(User.objects.get(pk=member.pk)) == Role.OPERATOR
    changes = json.loads(AuditEvent.objects.get(action="team.role_change").changes)
    assert changes == {"before": {"role": "Viewer"}, "after": {"role": "Operator"}}


def test_the_last_admin_cannot_be_demoted(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.ADMIN)
    me = client.user  # type: ignore[attr-defined]
    response = client.post(
        f"/team/{me.pk}/role/", {"role": "viewer", "step": "confirm"}, follow=True
    )
    assert b"last Admin" in response.content
    assert role_of(User.objects.get(pk=me.pk)) == Role.ADMIN


def test_changing_a_role_asks_first_and_says_what_changes(login_as, make_member) -> None:  # type: ignore[no-untyped-def]
    member = make_member("m", Role.OPERATOR)
    client = login_as(Role.ADMIN)
    asked = client.post(f"/team/{member.pk}/role/", {"role": "viewer"})
    body = asked.content.decode()
    assert asked.status_code == 200 and "Make m Viewer?" in body
    assert "will no longer be able to" in body and "Start and sync runs" not in body
    assert "start and sync runs" in body
    assert 'name="step" value="confirm"' in body
    assert role_of(User.objects.get(pk=member.pk)) == Role.OPERATOR
    assert not AuditEvent.objects.filter(action="team.role_change").exists()
    raised = client.post(f"/team/{member.pk}/role/", {"role": "admin"}).content.decode()
    assert "will be able to" in raised and "manage the team" in raised


def test_demoting_yourself_warns_of_losing_the_team_page(login_as, make_member) -> None:  # type: ignore[no-untyped-def]
    make_member("other-admin", Role.ADMIN)
    client = login_as(Role.ADMIN)
    me = client.user  # type: ignore[attr-defined]
    asked = client.post(f"/team/{me.pk}/role/", {"role": "operator"}).content.decode()
    assert "You will lose access to the Team page" in asked
    done = client.post(f"/team/{me.pk}/role/", {"role": "operator", "step": "confirm"})
    assert done.status_code == 302 and done["Location"] == "/models/"
    assert role_of(User.objects.get(pk=me.pk)) == Role.OPERATOR


def test_the_same_role_changes_nothing(login_as, make_member) -> None:  # type: ignore[no-untyped-def]
    member = make_member("m", Role.VIEWER)
    client = login_as(Role.ADMIN)
    response = client.post(f"/team/{member.pk}/role/", {"role": "viewer"}, follow=True)
    assert b"already Viewer" in response.content
    assert not AuditEvent.objects.filter(action="team.role_change").exists()


def test_adding_a_member_updates_the_table_in_the_same_answer(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.ADMIN)
    response = client.post("/team/add/", {"username": "fresh", "role": "viewer"}, **HTMX)
    body = response.content.decode()
    table = body[body.index('id="members"') :]
    assert 'hx-swap-oob="true"' in body[body.index('id="members"') - 200 : body.index("<table")]
    assert "fresh" in table
    assert 'data-copy="#set-password-link"' in body and 'id="set-password-link"' in body
    with_password = client.post(
        "/team/add/",
        {"username": "second", "role": "viewer", "password": "a-strong-pass-42"},
        **HTMX,
    ).content.decode()
    assert "second" in with_password[with_password.index('id="members"') :]
    assert "set-password-link" not in with_password


def test_deactivate_confirms_then_deletes_the_token(login_as, make_member) -> None:  # type: ignore[no-untyped-def]
    member = make_member("leaving", Role.OPERATOR, token="drgero_token_leaving_1")
    client = login_as(Role.ADMIN)
    confirm = client.get(f"/team/{member.pk}/deactivate/")
    assert b"Deactivate leaving?" in confirm.content
    assert User.objects.get(pk=member.pk).is_active
    client.post(f"/team/{member.pk}/deactivate/")
    assert not User.objects.get(pk=member.pk).is_active
    assert not DrGeroToken.objects.filter(user=member).exists()
    event = AuditEvent.objects.get(action="team.deactivate")
    assert json.loads(event.changes)["after"] == {"active": False, "saved_token": "deleted"}


def test_an_admin_cannot_deactivate_themself(login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(Role.ADMIN)
    me = client.user  # type: ignore[attr-defined]
    response = client.post(f"/team/{me.pk}/deactivate/", follow=True)
    assert b"can&#x27;t deactivate yourself" in response.content
    assert User.objects.get(pk=me.pk).is_active


def test_an_invitation_with_an_address_is_mailed_and_the_page_says_so(login_as) -> None:  # type: ignore[no-untyped-def]
    from django.core import mail

    client = login_as(Role.ADMIN)
    response = client.post(
        "/team/add/",
        {"username": "mailed", "email": "mailed@team.example", "role": "viewer"},
        **HTMX,
    )
    assert response.status_code == 200
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mailed@team.example"]
    body = mail.outbox[0].body
    start = body.index("http://testserver/account/set-password/")
    link = body[start:].split()[0]
    said = response.content.decode()
    assert "/account/set-password/" not in said  # mailed, not shown
    assert "We mailed the one-time link to choose a password to <strong>mailed@team.example" in said
    # The set-password page names the username; the log-in page after it is filled with it.
    newcomer = Client()
    form = newcomer.get(link.replace("http://testserver", ""), follow=True)
    assert "<strong>mailed</strong>" in form.content.decode()
    done = newcomer.post(
        form.redirect_chain[-1][0],
        {"new_password1": "chosen-password-77", "new_password2": "chosen-password-77"},
        follow=True,
    )
    assert has_html(
        done.content.decode(),
        '<input type="text" name="username" id="id_username" autocomplete="username" '
        'required autofocus value="mailed">',
    )
    assert "for your records" not in client.get("/team/").content.decode()


def test_a_mail_that_fails_shows_the_link_instead(login_as, settings) -> None:  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "tests.console.failing_mail.Backend"
    client = login_as(Role.ADMIN)
    response = client.post(
        "/team/add/",
        {"username": "unmailed", "email": "unmailed@team.example", "role": "viewer"},
        **HTMX,
    )
    body = response.content.decode()
    assert "could not be sent just now" in body and "/account/set-password/" in body
