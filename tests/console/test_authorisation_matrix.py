"""Every URL × anonymous and each role × full page and htmx: who may use what.

The table below must name every URL pattern the resolver knows; a new page fails this test
until someone decides who may use it.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from console.roles import Role
from tests.console.conftest import HTMX, PASSWORD

PUBLIC = "public"
SIGNED_IN = "signed-in"

# name → (who may use it, method used to probe it)
MATRIX: dict[str, tuple[Any, str]] = {
    "console:home": (SIGNED_IN, "GET"),
    "console:login": (PUBLIC, "GET"),
    "console:oidc-login": (PUBLIC, "GET"),
    "console:oidc-callback": (PUBLIC, "GET"),
    "console:logout": (SIGNED_IN, "POST"),
    "console:password-change": (SIGNED_IN, "GET"),
    "console:set-password": (PUBLIC, "GET"),
    "console:healthz": (PUBLIC, "GET"),
    "console:readyz": (PUBLIC, "GET"),
    "console:token": (Role.VIEWER, "GET"),
    "console:token-recheck": (Role.VIEWER, "POST"),
    "console:token-remove": (Role.VIEWER, "POST"),
    "console:notifications": (Role.VIEWER, "GET"),
    "console:email-send": (Role.VIEWER, "POST"),
    "console:email-confirm": (Role.VIEWER, "GET"),
    "console:account-link": (Role.VIEWER, "POST"),
    "console:notices": (Role.VIEWER, "GET"),
    "console:inbox": (Role.VIEWER, "GET"),
    "console:inbox-read": (Role.VIEWER, "POST"),
    "console:models-latest": (Role.VIEWER, "GET"),
    "console:audit": (Role.VIEWER, "GET"),
    "console:audit-export-csv": (Role.VIEWER, "GET"),
    "console:audit-export-jsonl": (Role.VIEWER, "GET"),
    "console:models": (Role.VIEWER, "GET"),
    "console:model-new": (Role.OPERATOR, "GET"),
    "console:model-detail": (Role.VIEWER, "GET"),
    "console:model-edit": (Role.OPERATOR, "GET"),
    "console:model-delete": (Role.ADMIN, "GET"),
    "console:base-models": (Role.VIEWER, "GET"),
    "console:model-runs": (Role.VIEWER, "GET"),
    "console:model-runs-export": (Role.VIEWER, "GET"),
    "console:run-new": (Role.OPERATOR, "GET"),
    "console:run-preview": (Role.OPERATOR, "POST"),
    "console:run-confirm": (Role.OPERATOR, "POST"),
    "console:model-sync": (Role.OPERATOR, "POST"),
    "console:runs": (Role.VIEWER, "GET"),
    "console:schedule": (Role.VIEWER, "GET"),
    "console:schedule-preview": (Role.OPERATOR, "POST"),
    "console:schedule-confirm": (Role.OPERATOR, "POST"),
    "console:schedule-summary": (Role.VIEWER, "GET"),
    "console:runs-export": (Role.VIEWER, "GET"),
    "console:run-detail": (Role.VIEWER, "GET"),
    "console:team": (Role.ADMIN, "GET"),
    "console:team-add": (Role.ADMIN, "POST"),
    "console:team-webhook": (Role.ADMIN, "POST"),
    "console:team-role": (Role.ADMIN, "POST"),
    "console:team-deactivate": (Role.ADMIN, "GET"),
}

SAMPLE_ARGS = {
    "user_id": "{target}",
    "uidb64": "MQ",
    "token": "set-password-token",
    "model_id": "00000000-0000-0000-0000-000000000000",
    "run_id": "00000000-0000-0000-0000-000000000001",
    "submission": "00000000-0000-0000-0000-000000000002",
}


def all_patterns(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> list[tuple[str, str]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += all_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((f"{namespace}{entry.name}", prefix + str(entry.pattern)))
    return found


PATTERNS = all_patterns(get_resolver())


def test_every_url_has_an_entry_in_the_matrix() -> None:
    names = {name for name, _ in PATTERNS}
    assert names - set(MATRIX) == set(), "decide who may use these URLs"
    assert set(MATRIX) - names == set(), "the matrix names URLs that no longer exist"


def test_views_declare_the_role_the_matrix_expects() -> None:
    resolver = get_resolver()
    for name, (needed, _) in MATRIX.items():
        if not isinstance(needed, Role):
            continue
        route = next(p for n, p in PATTERNS if n == name)
        path = "/" + route.replace("<int:user_id>", "1").replace("<uidb64>", "MQ").replace(
            "<token>", "t"
        ).replace("<str:token>", "t").replace(
            "<uuid:submission>", SAMPLE_ARGS["submission"]
        ).replace("<drgero_id:model_id>", SAMPLE_ARGS["model_id"]).replace(
            "<drgero_id:run_id>", SAMPLE_ARGS["run_id"]
        )
        view = resolver.resolve(path).func
        assert getattr(view, "required_role", None) == needed, name


def url_for(route: str, target_id: int) -> str:
    path = "/" + route
    for key, value in SAMPLE_ARGS.items():
        for converter in ("int:", "uuid:", "str:", "drgero_id:", ""):
            path = path.replace(f"<{converter}{key}>", value.format(target=target_id))
    return path


ACTORS = [None, "no-role", Role.VIEWER, Role.OPERATOR, Role.ADMIN]


def target_and_client(actor: Any) -> tuple[Any, Client]:
    """A member to act on, and a client signed in as ``actor`` (None: signed out)."""
    from console.services.team import set_role_groups

    users = get_user_model().objects
    target = users.create_user("target", password=PASSWORD)
    client = Client()
    if actor is not None:
        user = users.create_user("actor", password=PASSWORD)
        set_role_groups(user, None if actor == "no-role" else actor)
        client.force_login(user)
    return target, client


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: getattr(a, "name", str(a)).lower())
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_matrix(actor: Any, htmx: bool, sandbox) -> None:  # type: ignore[no-untyped-def]
    target, client = target_and_client(actor)
    headers = HTMX if htmx else {}
    for name, route in PATTERNS:
        needed, method = MATRIX[name]
        if name == "console:logout":
            continue  # logging out would end this client's session for the rest of the loop
        path = url_for(route, target.pk)
        asked = len(sandbox.state.seen)
        response = client.generic(method, path, **headers)
        label = f"{method} {path} as {actor} ({'htmx' if htmx else 'page'})"
        assert response.status_code < 500, label
        if needed == PUBLIC:
            assert response.status_code != 403, label
            continue
        if actor is None:
            if htmx:
                assert response.get("HX-Redirect", "").startswith("/login/"), label
            else:
                assert response.status_code == 302, label
                assert response["Location"].startswith("/login/"), label
            continue
        role = None if actor == "no-role" else actor
        allowed = needed == SIGNED_IN or (role is not None and role >= needed)
        if allowed:
            assert response.status_code != 403, label
        else:
            assert response.status_code == 403, label
            if method == "POST":
                assert len(sandbox.state.seen) == asked, f"{label} asked Dr.Gero before refusing"
            body = response.content.decode()
            assert 'id="refusal"' in body, label
            assert ("<html" in body) is not htmx, label


# Pages that also take a POST: the POST side must refuse the same roles, before anything is sent.
POST_SIDE = [
    "console:model-new",
    "console:model-edit",
    "console:model-delete",
    "console:team-deactivate",
]


@pytest.mark.django_db
@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: getattr(a, "name", str(a)).lower())
@pytest.mark.parametrize("name", POST_SIDE)
def test_the_post_side_refuses_the_same_roles(actor: Any, name: str, sandbox) -> None:  # type: ignore[no-untyped-def]
    users = get_user_model().objects
    target, client = target_and_client(actor)
    needed = MATRIX[name][0]
    route = next(p for n, p in PATTERNS if n == name)
    form = {"name": "x", "confirm_name": "x"}
    response = client.post(url_for(route, target.pk), form)
    assert response.status_code < 500
    role = None if actor in (None, "no-role") else actor
    if actor is None:
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    elif role is None or role < needed:
        assert response.status_code == 403
    else:
        assert response.status_code != 403
    if actor is None or role is None or role < needed:
        assert sandbox.state.seen == [], "a refused POST asked Dr.Gero something"
        assert users.get(pk=target.pk).is_active


@pytest.mark.django_db
def test_a_viewer_is_refused_a_schedule_change_while_dr_gero_is_down(  # type: ignore[no-untyped-def]
    login_as, sandbox
) -> None:
    viewer = login_as(Role.VIEWER, token="drgero_sandbox_full")
    from drgero_client.sandbox.state import Fault

    sandbox.state.arm(Fault(path=".*", kind="status", status=503))
    for step in ("preview", "confirm"):
        response = viewer.post(
            f"/models/00000000-0000-0000-0000-000000000000/schedule/{step}/",
            {"enabled": "on", "cadence": "WEEKLY"},
        )
        assert response.status_code == 403
    assert response.status_code == 403
    assert sandbox.state.seen == []
    assert viewer.get("/models/00000000-0000-0000-0000-000000000000/schedule/").status_code in (
        502,
        503,
    )  # the page itself does ask, and says Dr.Gero is down
