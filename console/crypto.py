"""Encryption of members' Dr.Gero tokens with AES-256-GCM under the CONSOLE_TOKEN_KEYS ring."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

FORMAT = "v1"
NONCE_BYTES = 12


class TokenUnavailableError(Exception):
    """A stored token cannot be decrypted (wrong owner, retired key, damaged value).

    Pages turn this into "please enter your token again"; it never carries the ciphertext.
    """


def _ring() -> dict[str, bytes]:
    return settings.CONSOLE_TOKEN_KEYS


def current_key_id() -> str:
    return next(iter(_ring()))


def _associated_data(binding: tuple[str, str], key_id: str) -> bytes:
    # Binds the value to what it is, its owner and its format: a value copied into another row
    # fails. Tokens stored before other secrets existed used exactly this text.
    kind, owner = binding
    return f"drgero-console:{kind}:{FORMAT}:{key_id}:{owner}".encode()


def _token_binding(user_id: int) -> tuple[str, str]:
    return ("token", f"user:{user_id}")


def encrypt_secret(plaintext: str, *, binding: tuple[str, str]) -> tuple[str, str]:
    """Encrypt under the first key of the ring; returns (stored value, key id).

    ``binding`` is (kind, owner): ("token", "user:7"), ("webhook", "team").
    """
    key_id = current_key_id()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_ring()[key_id]).encrypt(
        nonce, plaintext.encode(), _associated_data(binding, key_id)
    )
    value = f"{FORMAT}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"
    return value, key_id


def decrypt_secret(value: str, *, binding: tuple[str, str]) -> str:
    """Decrypt a stored value with whichever key of the ring it names."""
    try:
        version, key_id, encoded = value.split(":", 2)
    except ValueError:
        raise TokenUnavailableError("the stored secret is damaged") from None
    if version != FORMAT:
        raise TokenUnavailableError("the stored secret has an unknown format")
    key = _ring().get(key_id)
    if key is None:
        raise TokenUnavailableError("the stored secret's key is no longer configured")
    try:
        blob = base64.b64decode(encoded, validate=True)
        plain = AESGCM(key).decrypt(
            blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(binding, key_id)
        )
    except (InvalidTag, ValueError):
        raise TokenUnavailableError("the stored secret cannot be decrypted") from None
    return plain.decode()


def encrypt_token(plaintext: str, *, user_id: int) -> tuple[str, str]:
    """A member's token, bound to its owner."""
    return encrypt_secret(plaintext, binding=_token_binding(user_id))


def decrypt_token(value: str, *, user_id: int) -> str:
    return decrypt_secret(value, binding=_token_binding(user_id))
