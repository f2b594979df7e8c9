"""The per-thread session to Dr.Gero reads the proxy settings once, not on every call."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from console.services import drgero


def in_new_thread(settings: Any) -> Any:
    found: list[Any] = []
    thread = threading.Thread(target=lambda: found.append(drgero.pooled_session()))
    thread.start()
    thread.join()
    return found[0]


def test_the_proxy_from_the_environment_is_kept_and_not_read_again(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DRGERO_API_BASE = "https://drgero.example.org"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = in_new_thread(settings)
    assert session.proxies.get("https") == "http://proxy.internal:3128"
    assert session.trust_env is False


def test_no_proxy_for_dr_gero_means_none(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DRGERO_API_BASE = "https://drgero.example.org"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "drgero.example.org")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/team-ca.pem")
    session = in_new_thread(settings)
    assert "https" not in session.proxies
    assert session.verify == "/etc/ssl/team-ca.pem"
