"""The page's CSRF token, masked as Django masks it, drawn in one read (console.csrf)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from django.middleware import csrf as django_csrf
from django.test import Client, RequestFactory

from console import csrf
from console.roles import Role

SECRET = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"


def test_a_masked_token_is_djangos_format_and_unmasks_to_the_secret() -> None:
    tokens = {csrf.mask(SECRET) for _ in range(50)}
    assert len(tokens) == 50  # a fresh mask each time
    for token in tokens:
        assert len(token) == django_csrf.CSRF_TOKEN_LENGTH
        assert set(token) <= set(django_csrf.CSRF_ALLOWED_CHARS)
        assert django_csrf._unmask_cipher_token(token) == SECRET


def test_each_mask_character_is_equally_likely(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every byte value once: the 248 kept give each of the 62 characters exactly four times,
    and the eight from 248 up are dropped (kept, they would favour the first eight)."""
    monkeypatch.setattr(csrf.os, "urandom", lambda n: bytes(range(256)))
    assert Counter(csrf.random_indexes(248)) == {i: 4 for i in range(62)}


def test_dropped_bytes_are_made_up_by_another_read(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = iter([bytes([255] * 64), bytes([61, 250, 0] * 22)])
    monkeypatch.setattr(csrf.os, "urandom", lambda n: next(reads))
    assert csrf.random_indexes(32) == [61, 0] * 16


def test_without_a_secret_django_draws_one_and_sets_the_cookie() -> None:
    request = RequestFactory().get("/")
    token = csrf.get_token(request)
    secret = request.META["CSRF_COOKIE"]
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert django_csrf._unmask_cipher_token(token) == secret


@pytest.mark.parametrize("held", ["é" * 32, "short", None])
def test_a_secret_not_of_djangos_characters_goes_djangos_way(held: Any) -> None:
    """The middleware never leaves such a secret; if one were there, Django's own get_token
    answers for it, whatever that answer is."""

    def answer(get_token: Any) -> object:
        request = RequestFactory().get("/")
        if held is not None:
            request.META["CSRF_COOKIE"] = held
        try:
            return len(get_token(request)), request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        except ValueError as refused:
            return type(refused)

    assert answer(csrf.get_token) == answer(django_csrf.get_token)


def test_a_page_token_is_drawn_once_and_only_when_shown() -> None:
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = SECRET
    token = csrf.PageToken(request)
    assert "CSRF_COOKIE_NEEDS_UPDATE" not in request.META  # not shown yet: no cookie to send
    first = str(token)
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert str(token) == first == token and token.__html__() == first
    assert django_csrf._unmask_cipher_token(first) == SECRET


@pytest.mark.django_db
def test_a_pages_tokens_are_one_and_each_response_has_its_own(login_as: Any) -> None:
    client: Client = login_as(Role.OPERATOR)
    pages = [client.get("/account/password/").content.decode() for _ in range(2)]
    found = [
        re.findall(r'name="csrfmiddlewaretoken" value="(\w+)"|"X-CSRFToken": "(\w+)"', page)
        for page in pages
    ]
    per_page = [{a or b for a, b in page} for page in found]
    assert [len(tokens) for tokens in per_page] == [1, 1]  # header, form and htmx agree
    assert per_page[0] != per_page[1]
    secret = client.cookies["csrftoken"].value
    assert {django_csrf._unmask_cipher_token(t) for t in per_page[0] | per_page[1]} == {secret}
