"""Members' tokens: checked with reads, stored with AES-GCM bound to their owner, rotatable."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from console.crypto import TokenUnavailableError, decrypt_token, encrypt_token
from console.models import AuditEvent, DrGeroToken
from console.roles import Role
from console.selectors.tokens import token_status
from console.services.tokens import (
    client_for,
    token_check,
    token_recheck,
    token_remove,
    token_save,
)
from console.settings.keys import new_keyring_entry, parse_keyring
from drgero_client.sandbox import SandboxServer
from tests.console.conftest import store_token

CANARY = "drgero_canaryZZ9f3a7c1e5b2d8"


def ring(*names: str) -> dict[str, bytes]:
    return parse_keyring(",".join(new_keyring_entry(n) for n in names), variable="X")


def test_check_finds_what_each_demo_token_can_read(sandbox: SandboxServer) -> None:
    full = token_check("drgero_sandbox_full").value
    assert full is not None and all(full.capabilities.values())
    sandbox.state.tokens["drgero_models_only"] = sandbox.state.tokens["drgero_sandbox_full"]
    from drgero_client.sandbox.state import TokenGrant

    sandbox.state.tokens["drgero_models_only"] = TokenGrant("ws_main", ("models:read",))
    partial = token_check("drgero_models_only").value
    assert partial is not None
    assert partial.capabilities == {
        "models:read": True,
        "leaderboards:read": False,
        "base_models": True,
    }
    assert any("model form will ask for leaderboard ids" in s for s in partial.sentences())


def test_check_uses_reads_only(sandbox: SandboxServer) -> None:
    token_check("drgero_sandbox_full")
    assert {r.method for r in sandbox.state.seen} == {"GET"}


@pytest.mark.django_db
def test_a_401_saves_nothing_and_says_why(sandbox: SandboxServer, make_member) -> None:  # type: ignore[no-untyped-def]
    user = make_member("m", Role.VIEWER)
    outcome = token_save(user=user, token="drgero_unknown_token", label="")
    assert outcome.problem is not None and "did not accept" in outcome.problem.message
    assert not DrGeroToken.objects.exists()
    assert AuditEvent.objects.get().outcome == "failed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503},
        {"status": 429, "headers": {"Retry-After": "60"}},
        {"status": 500},
        {"kind": "delay", "delay_s": 1.0},
    ],
    ids=["503", "429", "500", "timeout"],
)
def test_an_unanswered_check_saves_nothing(
    sandbox: SandboxServer,
    make_member,
    fault: dict,  # type: ignore[no-untyped-def]
) -> None:
    user = make_member("m", Role.VIEWER)
    sandbox.arm(r"/api/models", method="GET", **fault)
    outcome = token_save(user=user, token="drgero_sandbox_full", label="")
    assert outcome.problem is not None
    assert "did not answer" in outcome.problem.message
    assert not DrGeroToken.objects.exists()


@pytest.mark.django_db
def test_save_encrypts_and_audits_without_token_material(
    sandbox: SandboxServer, make_member
) -> None:  # type: ignore[no-untyped-def]
    user = make_member("m", Role.VIEWER)
    assert token_save(user=user, token="drgero_sandbox_full", label="laptop").ok
    record = DrGeroToken.objects.get(user=user)
    assert "drgero_sandbox_full" not in record.ciphertext
    assert record.masked == "drgero_…full"
    assert decrypt_token(record.ciphertext, user_id=user.pk) == "drgero_sandbox_full"
    event = AuditEvent.objects.get(action="token.set")
    assert "drgero_sandbox_full" not in event.canonical + event.changes
    assert client_for(user).list_models(limit=1).total == 6


@pytest.mark.django_db
def test_each_value_uses_a_fresh_nonce(make_member) -> None:  # type: ignore[no-untyped-def]
    user = make_member("m")
    first, _ = encrypt_token(CANARY, user_id=user.pk)
    second, _ = encrypt_token(CANARY, user_id=user.pk)
    assert first != second


@pytest.mark.django_db
def test_a_ciphertext_swapped_between_members_fails_for_both(make_member) -> None:  # type: ignore[no-untyped-def]
    alice, bob = (
        make_member("a", token="drgero_token_of_a_1234"),
        make_member("b", token="drgero_token_of_b_5678"),
    )
    a_value = DrGeroToken.objects.get(user=alice).ciphertext
    b_value = DrGeroToken.objects.get(user=bob).ciphertext
    DrGeroToken.objects.filter(user=alice).update(ciphertext=b_value)
    DrGeroToken.objects.filter(user=bob).update(ciphertext=a_value)
    for member in (alice, bob):
        assert token_status(member) == "needs re-entry"
        with pytest.raises(TokenUnavailableError) as info:
            client_for(member)
        assert "drgero_token_of" not in str(info.value)


@pytest.mark.django_db
def test_rotation_across_three_keys_loses_nothing(settings, make_member, capsys) -> None:  # type: ignore[no-untyped-def]
    keys = ring("k1", "k2", "k3")
    members = []
    for index, kid in enumerate(["k1", "k2", "k3"]):
        settings.CONSOLE_TOKEN_KEYS = {kid: keys[kid], **keys}
        members.append(make_member(f"m{index}", token=f"drgero_token_number_{index}"))
    assert set(DrGeroToken.objects.values_list("key_id", flat=True)) == {"k1", "k2", "k3"}
    settings.CONSOLE_TOKEN_KEYS = {"k3": keys["k3"], "k1": keys["k1"], "k2": keys["k2"]}
    call_command("rotate_token_keys")
    assert "re-encrypted 2" in capsys.readouterr().out
    call_command("rotate_token_keys")  # safe to re-run
    assert "re-encrypted 0" in capsys.readouterr().out
    settings.CONSOLE_TOKEN_KEYS = {"k3": keys["k3"]}  # retired keys removed
    for index, member in enumerate(members):
        record = DrGeroToken.objects.get(user=member)
        assert decrypt_token(record.ciphertext, user_id=member.pk) == f"drgero_token_number_{index}"
    call_command("check_tokens")
    out = capsys.readouterr().out
    assert "3 of 3 tokens decrypt" in out and "k3: 3" in out


@pytest.mark.django_db
def test_check_tokens_names_members_who_must_re_enter(settings, make_member, capsys) -> None:  # type: ignore[no-untyped-def]
    make_member("kept", token="drgero_token_kept_1234")
    settings.CONSOLE_TOKEN_KEYS = ring("other")
    call_command("check_tokens")
    out = capsys.readouterr().out
    assert "0 of 1 tokens decrypt" in out and "kept" in out


@pytest.mark.django_db
def test_changing_the_secret_key_leaves_tokens_readable(make_member) -> None:  # type: ignore[no-untyped-def]
    user = make_member("m", token=CANARY)
    with override_settings(SECRET_KEY="a-completely-different-secret-key-" * 2):
        record = DrGeroToken.objects.get(user=user)
        assert decrypt_token(record.ciphertext, user_id=user.pk) == CANARY


@pytest.mark.django_db
def test_recheck_refreshes_capabilities_and_clears_refusals(
    sandbox: SandboxServer, make_member
) -> None:  # type: ignore[no-untyped-def]
    user = make_member("m", token="drgero_sandbox_readonly")
    DrGeroToken.objects.filter(user=user).update(refused_scopes=["models:write"], capabilities={})
    assert token_recheck(user=user).ok
    record = DrGeroToken.objects.get(user=user)
    assert record.refused_scopes == [] and record.capabilities["models:read"] is True
    assert AuditEvent.objects.filter(action="token.check", outcome="succeeded").exists()


@pytest.mark.django_db
def test_remove_deletes_and_audits(make_member) -> None:  # type: ignore[no-untyped-def]
    user = make_member("m", token=CANARY)
    assert token_remove(user=user)
    assert token_status(user) == "missing"
    assert AuditEvent.objects.filter(action="token.remove").count() == 1
    assert not token_remove(user=user)


@pytest.mark.django_db
def test_the_stored_value_names_its_format_and_key(make_member) -> None:  # type: ignore[no-untyped-def]
    record = store_token(make_member("m"), CANARY)
    version, key_id, _ = record.ciphertext.split(":", 2)
    assert (version, key_id) == ("v1", record.key_id)
