"""Changing one's password: the empty form is rendered once per process and is the same as
rendered fresh; a form with errors shows them; the validators' help follows the settings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import override_settings

from console.forms import PasswordChangeForm
from console.roles import Role
from console.templatetags import console_tags


def _fields(html: str) -> str:
    form = re.search(r'<form method="post" class="form form--narrow".*?</form>', html, re.S)
    assert form is not None
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", form.group(0))


@pytest.mark.django_db
def test_the_empty_form_is_rendered_once_and_is_what_a_fresh_render_writes(
    login_as: Any,
) -> None:
    client = login_as(Role.VIEWER)
    first = client.get("/account/password/").content.decode()
    again = client.get("/account/password/").content.decode()
    assert _fields(first) == _fields(again)
    fresh = console_tags._form_fields(PasswordChangeForm(client.user))
    assert fresh in first
    assert 'name="old_password"' in fresh and 'id="id_new_password1_helptext"' in fresh
    assert "at least 8 characters" in fresh  # the validators' own help, as markup


@pytest.mark.django_db
def test_a_form_with_errors_shows_them_and_keeps_nothing_of_them(login_as: Any) -> None:
    client = login_as(Role.VIEWER)
    refused = client.post(
        "/account/password/",
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    ).content.decode()
    assert "field--invalid" in refused and 'id="id_old_password_error"' in refused
    later = client.get("/account/password/").content.decode()
    assert "field--invalid" not in later and "_error" not in _fields(later)


@pytest.mark.django_db
def test_the_validators_help_follows_the_settings(login_as: Any) -> None:
    client = login_as(Role.VIEWER)
    assert "at least 8 characters" in client.get("/account/password/").content.decode()
    validators = [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 14},
        }
    ]
    with override_settings(AUTH_PASSWORD_VALIDATORS=validators):
        page = client.get("/account/password/").content.decode()
        assert "at least 14 characters" in page and "at least 8 characters" not in page
    assert "at least 8 characters" in client.get("/account/password/").content.decode()


@pytest.mark.django_db
def test_a_changed_password_keeps_the_member_signed_in(login_as: Any) -> None:
    client = login_as(Role.VIEWER)
    client.user.set_password("old-password-1")
    client.user.save()
    client.force_login(client.user)
    changed = client.post(
        "/account/password/",
        {
            "old_password": "old-password-1",
            "new_password1": "a-much-better-password-7",
            "new_password2": "a-much-better-password-7",
        },
    )
    assert changed.status_code == 302 and changed["Location"] == "/account/password/"
    page = client.get("/account/password/").content.decode()
    assert "Your password was changed." in page  # still signed in, and told
    client.user.refresh_from_db()
    assert client.user.check_password("a-much-better-password-7")
    assert not client.user.check_password("old-password-1")


@pytest.mark.django_db
def test_the_password_page_needs_a_signed_in_member_and_a_csrf_token(login_as: Any) -> None:
    from django.test import Client

    anonymous = Client().get("/account/password/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    enforcing = Client(enforce_csrf_checks=True)
    enforcing.force_login(login_as(Role.VIEWER).user)
    refused = enforcing.post(
        "/account/password/",
        {"old_password": "x", "new_password1": "y", "new_password2": "y"},
    )
    assert refused.status_code == 403
    assert login_as(Role.VIEWER, username="another").put("/account/password/").status_code == 405


@pytest.mark.django_db
def test_the_empty_form_is_built_once_and_never_holds_a_member_or_input(login_as: Any) -> None:
    client = login_as(Role.VIEWER)
    shown = client.get("/account/password/").context["form"]
    assert client.get("/account/password/").context["form"] is shown  # built once
    assert shown.user is None and not shown.is_bound
    other = login_as(Role.ADMIN, username="another")
    assert other.get("/account/password/").context["form"] is shown  # the same for everyone
    refused = client.post(
        "/account/password/", {"old_password": "wrong", "new_password1": "x"}
    ).context["form"]
    assert refused is not shown and refused.is_bound and refused.user == client.user
    assert not shown.is_bound and not shown.errors  # the POST's input never reached it
