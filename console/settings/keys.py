"""Keyrings and generated development keys, read from the environment or from files under var/."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from pathlib import Path


class KeyringError(ValueError):
    """A keyring variable is malformed; the message names the variable, never a key."""


def parse_keyring(value: str, *, variable: str) -> dict[str, bytes]:
    """Parse ``kid:base64-of-32-bytes,kid2:...`` into an ordered ``{kid: key}`` dict.

    The first key encrypts or signs new values; every key is accepted for old ones.
    """
    ring: dict[str, bytes] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        kid, sep, encoded = part.partition(":")
        if not sep or not kid:
            raise KeyringError(f"{variable}: every entry must look like kid:base64key")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError as exc:
            raise KeyringError(f"{variable}: the key for '{kid}' is not valid base64") from exc
        if len(key) != 32:
            raise KeyringError(f"{variable}: the key for '{kid}' must be 32 bytes")
        if kid in ring:
            raise KeyringError(f"{variable}: key id '{kid}' appears twice")
        ring[kid] = key
    if not ring:
        raise KeyringError(f"{variable}: no keys")
    return ring


def new_keyring_entry(kid: str) -> str:
    """Return a fresh ``kid:base64`` entry of 32 random bytes."""
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def generated_value(var_dir: Path, name: str, make: Callable[[], str]) -> str:
    """Read ``var/<name>``, creating it with ``make()`` (mode 0600) the first time."""
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
