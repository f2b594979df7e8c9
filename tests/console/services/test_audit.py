"""The audit core: append-only in the database, hash-chained, signed, verifiable."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, close_old_connections, connection, transaction

from console.models import AuditEvent
from console.models.audit import AppendOnlyError
from console.services.audit import SYSTEM, Actor, Target, audit_record, audit_verify, read_head
from console.settings.keys import new_keyring_entry, parse_keyring


def record(n: int = 1, **kwargs: object) -> list[AuditEvent]:
    return [
        audit_record(
            actor=Actor(7, "operator"),
            action=kwargs.get("action", "model.update"),  # type: ignore[arg-type]
            outcome="succeeded",
            target=Target("model", f"m{i}", f"Model {i}"),
            changes={"before": {"name": "a"}, "after": {"name": f"b{i}"}},
        )
        for i in range(n)
    ]


@contextmanager
def triggers_off() -> Iterator[None]:
    """What someone with direct database access could do: turn the guards off."""
    from console.migrations import _audit_sql  # type: ignore[attr-defined]

    with connection.cursor() as cursor:
        for sql in _audit_sql.DROP[connection.vendor]:
            cursor.execute(sql)
        try:
            yield
        finally:
            for sql in _audit_sql.CREATE[connection.vendor]:
                cursor.execute(sql)


def tamper(sql: str, params: list | None = None) -> None:
    with triggers_off(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.mark.django_db
def test_events_form_a_gapless_verified_chain() -> None:
    events = record(5)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[1].prev_hash == events[0].mac
    result = audit_verify(check_head=False)
    assert result.ok and result.checked == 5


@pytest.mark.django_db
def test_secrets_are_withheld_from_changes() -> None:
    event = audit_record(
        actor=SYSTEM,
        action="token.set",
        outcome="succeeded",
        changes={
            "token": "x1",
            "nested": {"password": "pw"},
            "label": "ok",
            "note": "pasted drgero_secret_value by mistake",
        },
    )
    assert '"token": "[withheld]"' in event.changes and "pw" not in event.changes
    assert "drgero_secret_value" not in event.changes
    assert '"label": "ok"' in event.changes


@pytest.mark.django_db
def test_the_model_refuses_to_update_or_delete() -> None:
    (event,) = record(1)
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


@pytest.mark.django_db
def test_the_database_refuses_update_and_delete() -> None:
    record(2)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(message="changed")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(seq=2).delete()
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_verify_catches_an_edited_row() -> None:
    record(4)
    tamper("UPDATE console_auditevent SET target_name = %s WHERE seq = 2", ["Forged"])
    result = audit_verify(check_head=False)
    assert not result.ok and result.bad_seq == 2
    assert "differ from what was signed" in result.problem


@pytest.mark.django_db
def test_verify_catches_an_edited_row_whose_signed_text_was_rewritten() -> None:
    record(3)
    event = AuditEvent.objects.get(seq=2)
    forged = event.canonical.replace("b1", "zz")
    tamper(
        "UPDATE console_auditevent SET canonical = %s, changes = %s WHERE seq = 2",
        [forged, event.changes.replace("b1", "zz")],
    )
    result = audit_verify(check_head=False)
    assert not result.ok and result.bad_seq == 2 and "signature" in result.problem


@pytest.mark.django_db
def test_verify_catches_a_deleted_middle_row() -> None:
    record(5)
    tamper("DELETE FROM console_auditevent WHERE seq = 3")
    result = audit_verify(check_head=False)
    assert not result.ok and result.bad_seq == 3 and "missing" in result.problem


@pytest.mark.django_db
def test_verify_catches_a_reordered_pair() -> None:
    record(4)
    tamper("UPDATE console_auditevent SET seq = 1000 WHERE seq = 2")
    tamper("UPDATE console_auditevent SET seq = 2 WHERE seq = 3")
    tamper("UPDATE console_auditevent SET seq = 3 WHERE seq = 1000")
    result = audit_verify(check_head=False)
    assert not result.ok and result.bad_seq == 2


@pytest.mark.django_db
def test_verify_catches_a_removed_tail(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        record(4)
    assert read_head() is not None and read_head()[0] == 4  # type: ignore[index]
    assert audit_verify().ok
    tamper("DELETE FROM console_auditevent WHERE seq = 4")
    result = audit_verify()
    assert not result.ok and "newest events were removed" in result.problem


@pytest.mark.django_db
def test_the_verify_command_exits_non_zero_on_a_break(capsys) -> None:  # type: ignore[no-untyped-def]
    record(3)
    call_command("verify_audit", "--no-head")
    assert "3 events" in capsys.readouterr().out
    tamper("UPDATE console_auditevent SET outcome = 'failed' WHERE seq = 1")
    with pytest.raises(CommandError) as info:
        call_command("verify_audit", "--no-head")
    assert "#1" in str(info.value)


@pytest.mark.django_db
def test_key_rotation_keeps_old_events_verifiable(settings) -> None:  # type: ignore[no-untyped-def]
    old_ring = dict(settings.CONSOLE_AUDIT_KEYS)
    record(2)
    new = parse_keyring(new_keyring_entry("rotated"), variable="X")
    settings.CONSOLE_AUDIT_KEYS = {**new, **old_ring}
    record(2)
    assert list(AuditEvent.objects.order_by("seq").values_list("key_id", flat=True)) == [
        "test1",
        "test1",
        "rotated",
        "rotated",
    ]
    assert audit_verify(check_head=False).ok
    settings.CONSOLE_AUDIT_KEYS = new
    result = audit_verify(check_head=False)
    assert not result.ok and "unknown key" in result.problem


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain() -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(50):
                audit_record(
                    actor=Actor(n, f"w{n}"),
                    action="run.sync",
                    outcome="succeeded",
                    target=Target("model", str(i)),
                )
        except BaseException as exc:  # noqa: BLE001  (any failure in the thread fails the test)
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEvent.objects.count() == 200
    assert audit_verify(check_head=False).ok


@pytest.mark.django_db(transaction=True)
def test_flush_between_tests_still_works_and_leaves_no_rows() -> None:
    record(3)
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_flush_outside_test_mode_is_refused_on_sqlite(settings) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL flushes with TRUNCATE; the deployment's role forbids it")
    record(1)
    settings.CONSOLE_ENV = "production"
    with pytest.raises(CommandError):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 1
    settings.CONSOLE_ENV = "test"


@pytest.mark.django_db
def test_verify_catches_a_validly_signed_row_spliced_in_from_another_chain() -> None:
    """Signature and fields check out; only the chain link can tell the row does not belong."""
    from console.services.audit import SIGNED_FIELDS, canonical_text, sign

    record(4)
    event = AuditEvent.objects.get(seq=2)
    values = {name: getattr(event, name) for name in SIGNED_FIELDS}
    values["prev_hash"] = "f" * 64  # the row's predecessor in its own chain
    text = canonical_text(values)
    tamper(
        "UPDATE console_auditevent SET prev_hash = %s, canonical = %s, mac = %s WHERE seq = 2",
        [values["prev_hash"], text, sign(event.key_id, text)],
    )
    result = audit_verify(check_head=False)
    assert not result.ok and result.bad_seq == 2 and "chain link broken" in result.problem


@pytest.mark.django_db
def test_verify_catches_a_newest_row_that_differs_from_the_recorded_head(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from console.services.audit import head_path

    with django_capture_on_commit_callbacks(execute=True):
        record(3)
    assert audit_verify().ok
    data = json.loads(head_path().read_text())
    head_path().write_text(json.dumps({"seq": data["seq"], "hash": "0" * 64}))
    result = audit_verify()
    assert not result.ok and result.bad_seq == 3 and "recorded head" in result.problem


@pytest.mark.django_db
def test_a_missing_head_is_a_failure_unless_accepted_knowingly(capsys) -> None:  # type: ignore[no-untyped-def]
    from console.services.audit import head_path

    record(2)  # inside the test's transaction the head is never written
    assert not head_path().exists()
    result = audit_verify()
    assert not result.ok and "no recorded head" in result.problem
    with pytest.raises(CommandError, match="no recorded head"):
        call_command("verify_audit")
    call_command("verify_audit", "--accept-missing-head")
    assert "2 events" in capsys.readouterr().out


@pytest.mark.django_db
def test_an_unreadable_head_is_a_failure(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from console.services.audit import head_path

    with django_capture_on_commit_callbacks(execute=True):
        record(2)
    head_path().write_text("{not json")
    result = audit_verify(accept_missing_head=True)
    assert not result.ok and "cannot be read" in result.problem
