"""The inbox: a member's notices, newest first, unread in bold, read when opened."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from console.models import Notice, RunOrigin, RunRecord
from console.roles import Role
from tests.console.conftest import HTMX
from tests.console.html import has_html

pytestmark = pytest.mark.django_db


def a_run(run_id: str = "run-1", *, name: str = "Billing Helper", category: str = "failed"):  # type: ignore[no-untyped-def]
    now = timezone.now()
    return RunRecord.objects.create(
        run_id=run_id,
        model_id="m-1",
        model_name=name,
        status=category.upper(),
        category=category,
        created_at=now,
        first_seen_at=now,
        origin=RunOrigin.CONSOLE,
    )


def notice(user: Any, text: str, *, run: Any = None, ago: int = 0, **fields: Any) -> Notice:
    return Notice.objects.create(
        user=user,
        run=run,
        kind=fields.pop("kind", "run_ended"),
        text=text,
        url=f"/runs/{run.run_id}/" if run else "",
        created_at=timezone.now() - timedelta(minutes=ago),
        **fields,
    )


def test_the_inbox_lists_notices_newest_first_unread_in_bold(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    run = a_run()
    notice(member.user, "Older, read.", ago=60, read_at=timezone.now(), seen_at=timezone.now())
    notice(member.user, "Newer, unread.", run=run, ago=1)
    body = member.get("/inbox/").content.decode()
    assert body.index("Newer, unread.") < body.index("Older, read.")
    assert has_html(
        body,
        '<span class="inbox__text"><a href="/runs/run-1/">Newer, unread.</a></span>',
    )
    assert body.count("inbox__item--unread") == 1
    assert "Mark all read" in body


def test_the_header_counts_unread_notices_and_links_to_the_inbox(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    notice(member.user, "One.")
    notice(member.user, "Two.")
    body = member.get("/runs/").content.decode()
    assert 'aria-label="Inbox, 2 unread"' in body
    assert has_html(body, '<span class="badge" id="inbox-count" aria-hidden="true">2</span>')


def test_the_notices_poll_updates_the_count(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    member.get("/runs/")
    notice(member.user, "Arrived meanwhile.", run=a_run(name="Billing Helper"))
    events = json.loads(member.get("/notices/", **HTMX)["HX-Trigger"])
    assert events["inbox"] == {"unread": 1}
    assert events["messages"][0]["title"] == "Billing Helper: run failed"


def test_mark_all_read_reads_only_the_members_own(login_as: Any) -> None:
    member = login_as(Role.VIEWER, username="me")
    other = login_as(Role.VIEWER, username="them")
    notice(member.user, "Mine.")
    notice(other.user, "Theirs.")
    response = member.post("/inbox/read/")
    assert response.status_code == 302
    assert Notice.objects.get(text="Mine.").read_at is not None
    assert Notice.objects.get(text="Mine.").seen_at is not None  # no toast for it later
    assert Notice.objects.get(text="Theirs.").read_at is None
    assert "Theirs." not in member.get("/inbox/").content.decode()


def test_opening_a_runs_page_reads_its_notices(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    run, other = a_run("run-1"), a_run("run-2")
    notice(member.user, "About run 1.", run=run)
    notice(member.user, "About run 2.", run=other)
    page = member.get("/runs/run-1/").content.decode()
    assert Notice.objects.get(text="About run 1.").read_at is not None
    assert Notice.objects.get(text="About run 2.").read_at is None
    assert 'aria-label="Inbox, 1 unread"' in page  # the count follows at once


def test_the_empty_inbox_says_what_will_be_here(login_as: Any) -> None:
    body = login_as(Role.VIEWER).get("/inbox/").content.decode()
    assert "Nothing here yet" in body and "Mark all read" not in body


def test_notices_text_is_escaped(login_as: Any) -> None:
    member = login_as(Role.VIEWER)
    notice(member.user, "<script>alert(1)</script>")
    body = member.get("/inbox/").content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body


def test_a_title_names_the_model_and_the_end(login_as: Any) -> None:
    from console.services.notices import notice_title

    member = login_as(Role.VIEWER)
    assert notice_title(notice(member.user, "x", run=a_run("r1", category="succeeded"))) == (
        "Billing Helper: run succeeded"
    )
    gone = notice(member.user, "y", run=a_run("r2", category="gone"), kind="run_gone")
    assert notice_title(gone) == "Billing Helper: run no longer in Dr.Gero"
    assert notice_title(notice(member.user, "z", kind="sync_done")) == ""


def _notice_queries(queries: list[dict[str, Any]]) -> list[str]:
    table = Notice._meta.db_table
    return [q["sql"] for q in queries if table in q["sql"]]


def test_a_page_reads_the_notices_state_with_the_member(login_as: Any) -> None:
    """The header's count and the waiting toast come from the query that reads the member:
    a page with nothing waiting asks nothing more of the notices."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = login_as(Role.VIEWER)
    notice(member.user, "Read long ago.", read_at=timezone.now(), seen_at=timezone.now())
    notice(member.user, "Shown, not read.", seen_at=timezone.now())
    with CaptureQueriesContext(connection) as seen:
        body = member.get("/account/password/").content.decode()
    asked = _notice_queries(seen.captured_queries)
    assert len(asked) == 1 and "console_unread" in asked[0]
    assert 'aria-label="Inbox, 1 unread"' in body
    assert "Shown, not read." not in body  # shown once already

    notice(member.user, "Waiting to be shown.")
    with CaptureQueriesContext(connection) as seen:
        body = member.get("/account/password/").content.decode()
    assert "Waiting to be shown." in body
    assert 'aria-label="Inbox, 2 unread"' in body
    # The member's query, then the waiting notices fetched and marked shown.
    assert len(_notice_queries(seen.captured_queries)) == 3
    body = member.get("/account/password/").content.decode()
    assert "Waiting to be shown." not in body


def test_the_state_read_with_the_member_is_used_once(login_as: Any) -> None:
    """Anything later in the request that asks again gets the database's answer, not the state
    read as the request began."""
    from django.contrib.auth import get_user_model

    from console.services.notices import notices_take
    from console.signin.backends import MemberBackend

    member = login_as(Role.VIEWER)
    notice(member.user, "Waiting.")
    user = MemberBackend().get_user(member.user.pk)
    assert user._console_notices == (True, 1)
    taken, unread = notices_take(user)
    assert [n.text for n in taken] == ["Waiting."] and unread == 1
    Notice.objects.update(read_at=timezone.now())  # read in another tab
    assert notices_take(user) == ([], 0)  # asked again: the database's answer
    other = get_user_model().objects.create_user("someone-else")
    notice(other, "Not yours.")
    assert MemberBackend().get_user(member.user.pk)._console_notices == (False, 0)
