"""The audit page: newest first, filters in the URL, keyset pages, streamed audited exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from console.models import AuditEvent
from console.roles import Role
from console.services.audit import Actor, Target, audit_record
from tests.console.conftest import HTMX
from tests.console.html import has_html

pytestmark = pytest.mark.django_db


def add(n: int, **kwargs: object) -> None:
    for i in range(n):
        audit_record(
            actor=kwargs.get("actor", Actor(1, "alpha")),  # type: ignore[arg-type]
            action=kwargs.get("action", "model.update"),  # type: ignore[arg-type]
            outcome=kwargs.get("outcome", "succeeded"),  # type: ignore[arg-type]
            target=Target("model", kwargs.get("model", f"m{i}"), kwargs.get("name", f"M{i}")),  # type: ignore[arg-type]
            changes={"before": {"name": "old"}, "after": {"name": "new"}},
        )


def seqs(html: str) -> list[int]:
    import re

    return [int(s) for s in re.findall(r'<td class="num"[^>]*>(\d+)</td>', html)]


def test_empty_state(login_as) -> None:  # type: ignore[no-untyped-def]
    body = login_as(Role.VIEWER).get("/audit/").content.decode()
    assert "No events yet" in body


def test_newest_first_with_keyset_pages(login_as) -> None:  # type: ignore[no-untyped-def]
    add(120)
    client = login_as(Role.VIEWER)
    first = client.get("/audit/").content.decode()
    assert seqs(first) == list(range(120, 70, -1))
    assert "before=" in first and "after=" not in first
    second = client.get(link(first, "Older")).content.decode()
    assert seqs(second) == list(range(70, 20, -1))
    assert "after=" in second and "before=" in second
    back = client.get(link(second, "Newer")).content.decode()
    assert seqs(back) == list(range(120, 70, -1))


def link(page: str, label: str) -> str:
    """The href of the pager link with this label."""
    import html
    import re

    found = re.search(r'<a class="button" href="([^"]+)"[^>]*>[^<]*' + label, page)
    assert found, label
    return "/audit/" + html.unescape(found.group(1))


def test_cursors_that_were_edited_or_made_up_are_ignored(login_as) -> None:  # type: ignore[no-untyped-def]
    add(60)
    client = login_as(Role.VIEWER)
    for made_up in ("71", "-1", "99999999999999999999999", "abc", "\x00", "a" * 500):
        for name in ("before", "after"):
            response = client.get("/audit/", {name: made_up})
            assert response.status_code == 200
            assert seqs(response.content.decode()) == list(range(60, 10, -1))


def test_filters_are_kept_in_the_url_and_swap_only_the_table(login_as) -> None:  # type: ignore[no-untyped-def]
    add(3, actor=Actor(1, "alpha"))
    add(2, actor=Actor(2, "beta"), action="run.start", outcome="failed", model="mx")
    client = login_as(Role.VIEWER)
    response = client.get("/audit/?actor=beta&outcome=failed", **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="audit-results">')
    assert seqs(body) == [5, 4]
    assert seqs(client.get("/audit/?action=run").content.decode()) == [5, 4]
    assert seqs(client.get("/audit/?model=mx").content.decode()) == [5, 4]
    today = timezone.localdate()
    assert len(seqs(client.get(f"/audit/?since={today}&until={today}").content.decode())) == 5
    tomorrow = today + timedelta(days=1)
    assert seqs(client.get(f"/audit/?since={tomorrow}").content.decode()) == []


def test_a_bad_date_range_is_explained(login_as) -> None:  # type: ignore[no-untyped-def]
    body = login_as(Role.VIEWER).get("/audit/?since=2026-02-02&until=2026-01-01").content.decode()
    assert "The end date is before the start date." in body


def test_before_and_after_are_shown_for_changes(login_as) -> None:  # type: ignore[no-untyped-def]
    add(1)
    body = login_as(Role.VIEWER).get("/audit/").content.decode()
    assert "edited a model" in body
    assert has_html(
        body,
        '<dt>Name</dt><dd>old <span aria-hidden="true">→</span>'
        '<span class="visually-hidden"> changed to </span> new</dd>',
    )
    assert "{&#x27;" not in body and "&#x27;name&#x27;" not in body  # no Python dict


def test_html_in_events_renders_inert(login_as) -> None:  # type: ignore[no-untyped-def]
    add(1, name="<script>alert(1)</script>")
    body = login_as(Role.VIEWER).get("/audit/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_csv_export_of_a_filtered_set_is_streamed_neutralised_and_audited(login_as) -> None:  # type: ignore[no-untyped-def]
    add(2, actor=Actor(1, "alpha"))
    add(3, actor=Actor(2, "beta"), name='=HYPERLINK("http://x")')
    client = login_as(Role.VIEWER)
    response = client.get("/audit/export.csv?actor=beta")
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "seq"
    assert [r[0] for r in rows[1:]] == ["5", "4", "3"]
    names = {r[rows[0].index("target_name")] for r in rows[1:]}
    assert names == {'\'=HYPERLINK("http://x")'}
    export = AuditEvent.objects.get(action="audit.export")
    assert json.loads(export.changes) == {"filters": {"actor": "beta"}, "format": "csv"}


def test_jsonl_export(login_as) -> None:  # type: ignore[no-untyped-def]
    add(3, outcome="failed")
    add(1)
    response = login_as(Role.VIEWER).get("/audit/export.jsonl?outcome=failed")
    lines = b"".join(response.streaming_content).decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [3, 2, 1]
    assert records[0]["changes"]["after"] == {"name": "new"}


def test_jsonl_export_writes_every_field_as_the_event_has_it(login_as) -> None:  # type: ignore[no-untyped-def]
    add(2, name="Ünïcode “quoted” <b>")
    client = login_as(Role.VIEWER)
    lines = b"".join(client.get("/audit/export.jsonl").streaming_content).decode().splitlines()
    exported = {json.loads(line)["seq"]: json.loads(line) for line in lines}
    for event in AuditEvent.objects.filter(seq__in=exported):
        record = exported[event.seq]
        assert record["created_at"] == event.created_at.isoformat()
        assert record["changes"] == json.loads(event.changes)
        for name in ("actor_username", "action", "target_name", "outcome", "mac", "client_ip"):
            assert record[name] == getattr(event, name), name


def test_exports_keep_exact_values_and_add_the_words(login_as) -> None:  # type: ignore[no-untyped-def]
    add(1)
    audit_record(
        actor=Actor(1, "alpha"),
        action="schedule.clear",
        outcome="failed",
        target=Target("model", "m9", "M9"),
        changes={"before": {"run": {"type": "WEEKLY"}}, "after": None, "note": "Too costly"},
        status_code=402,
    )
    client = login_as(Role.VIEWER)
    rows = list(
        csv.DictReader(
            io.StringIO(b"".join(client.get("/audit/export.csv").streaming_content).decode())
        )
    )
    newest = rows[0]
    assert newest["action"] == "schedule.clear" and newest["status_code"] == "402"
    assert newest["what"] == "turned off a fine-tune schedule"
    assert newest["details_in_words"] == "Schedule: Weekly → Off; Why: Too costly"
    assert newest["outcome_in_words"] == "it needs a paid Dr.Gero plan"
    lines = b"".join(client.get("/audit/export.jsonl").streaming_content).decode().splitlines()
    record = next(r for r in map(json.loads, lines) if r["action"] == "schedule.clear")
    assert record["changes"]["note"] == "Too costly" and record["what"] == newest["what"]


def test_the_action_filter_is_grouped_by_area_in_words(login_as) -> None:  # type: ignore[no-untyped-def]
    add(2)
    add(1, action="run.start")
    client = login_as(Role.VIEWER)
    body = client.get("/audit/").content.decode()
    assert '<optgroup label="Runs"><option value="run">Any of these (runs)</option>' in body
    assert '<option value="run.start">Started a fine-tune run</option>' in body
    assert seqs(client.get("/audit/?action=run.start").content.decode()) == [3]
    assert seqs(client.get("/audit/?action=model").content.decode()) == [2, 1]
    refused = client.get("/audit/?action=<script>").content.decode()
    assert "Select a valid choice" in refused and "<script>" not in refused.split("<main")[1]
    import re

    shown = re.sub(r'value="[^"]*"', "", body.split("<main")[1])
    assert "run.start" not in shown and "model.update" not in shown  # codes stay in exports


def test_a_run_event_links_to_its_run_and_a_failure_says_why(login_as) -> None:  # type: ignore[no-untyped-def]
    audit_record(
        actor=Actor(1, "alpha"),
        action="run.start",
        outcome="succeeded",
        target=Target("run", "run-77", "Support Assistant", "m1"),
        changes={"settings": {"auto": True, "rows": None, "algorithm": "LAST_N"}},
    )
    audit_record(
        actor=Actor(1, "alpha"),
        action="run.sync",
        outcome="failed",
        target=Target("model", "m1", "Support Assistant"),
        changes={"run_id": "all", "runs": 0},
        status_code=401,
    )
    body = login_as(Role.VIEWER).get("/audit/").content.decode()
    assert '<a href="/runs/run-77/">Run of Support Assistant</a>' in body
    assert "Dr.Gero did not accept the token" in body and "(401)" not in body
    assert "An automatically sized set of the newest rows" in body


def test_date_presets_keep_the_other_filters(login_as) -> None:  # type: ignore[no-untyped-def]
    add(1)
    body = login_as(Role.VIEWER).get("/audit/?outcome=failed").content.decode()
    today = timezone.localdate()
    week = (today - timedelta(days=6)).isoformat()
    assert f"?outcome=failed&amp;since={week}&amp;until={today.isoformat()}" in body
    assert ">Last 7 days</a>" in body and ">Today</a>" in body and ">Last 30 days</a>" in body
