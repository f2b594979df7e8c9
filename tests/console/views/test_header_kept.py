"""The header every signed-in page shares is kept per member, role, inbox count and current
page: a kept header equals a fresh one, carries each request's own CSRF token, and follows a
changed role, name or count at once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from console.models import Notice
from console.roles import Role
from console.templatetags import console_layout
from tests.console.views.test_runs_kept import CSRF_FIELD, _without_tokens

pytestmark = pytest.mark.django_db

HEADER = re.compile(r'<header class="site-header">.*?</header>', re.S)


def header(client: Any, path: str = "/account/password/") -> str:
    found = HEADER.search(client.get(path).content.decode())
    assert found is not None
    return found.group(0)


def fresh(client: Any, path: str = "/account/password/") -> str:
    console_layout._HEADERS.clear()
    return header(client, path)


def token_of(markup: str) -> str:
    found = CSRF_FIELD.search(markup)
    assert found is not None and found.group(1)
    return found.group(1)


def test_a_kept_header_is_the_fresh_one_with_this_requests_token(login_as: Any) -> None:
    member = login_as(Role.OPERATOR)
    first = fresh(member)
    kept = header(member)
    assert len(console_layout._HEADERS) == 1
    assert _without_tokens(kept) == _without_tokens(first)
    assert "operator-member" in kept and 'aria-current="page"' not in kept
    # Each response masks the token anew, and the one the page carries is accepted.
    assert token_of(kept) != token_of(first)
    member.cookies.load({})  # the session's CSRF cookie stays
    response = member.post(
        "/account/password/",
        {"csrfmiddlewaretoken": token_of(kept), "old_password": "wrong"},
    )
    assert response.status_code == 200  # the form's own refusal, not a CSRF failure


def test_the_current_page_role_name_and_count_each_get_their_own(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    models = header(member, "/models/")
    assert _without_tokens(models) == _without_tokens(fresh(member, "/models/"))
    assert '<a href="/models/" aria-current="page">' in models
    assert '<a href="/runs/" aria-current="page">' in header(member, "/runs/")
    assert "Team" not in header(member)

    member.user.groups.set([Group.objects.get(name="Admin")])
    promoted = header(member)
    assert 'whoami__role">Admin' in promoted and ">Team<" in promoted

    member.user.username = "renamed-member"
    member.user.save()
    assert "renamed-member" in header(member)

    Notice.objects.create(
        user=member.user, kind="run_ended", text="Done.", created_at=timezone.now()
    )
    assert 'aria-label="Inbox, 1 unread"' in header(member)
    Notice.objects.update(read_at=timezone.now())
    assert 'aria-label="Inbox' not in header(member)


def test_another_member_never_gets_a_kept_header(login_as: Any) -> None:
    one = login_as(Role.OPERATOR, username="first-member")
    other = login_as(Role.OPERATOR, username="second-member")
    header(one)
    theirs = header(other)
    assert "second-member" in theirs and "first-member" not in theirs


def test_a_hostile_name_is_escaped_and_cannot_pose_as_the_token(login_as: Any) -> None:
    from django.db import connection

    from console.fragments import CSRF_MARK

    # The marker itself where the database can hold it (PostgreSQL refuses NUL in text).
    mark = CSRF_MARK if connection.vendor == "sqlite" else CSRF_MARK.replace("\x00", "")
    member = login_as(Role.VIEWER, username="x")
    member.user.username = '<b>"name"</b>' + mark
    member.user.save()
    header(member)
    kept = header(member)
    escaped = mark.replace("<", "&lt;").replace(">", "&gt;")
    assert "&lt;b&gt;&quot;name&quot;&lt;/b&gt;" + escaped in kept  # left as it is, escaped
    assert "<b>" not in kept
    assert kept.count(token_of(kept)) == 1


def test_the_kept_headers_are_bounded(login_as: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(console_layout, "HEADERS_KEPT", 2)
    member = login_as(Role.VIEWER)
    for path in ("/models/", "/runs/", "/audit/"):
        header(member, path)
        assert len(console_layout._HEADERS) <= 2
