"""``manage.py rotate_token_keys``: re-encrypt every token under the keyring's first key."""

from typing import Any

from django.core.management.base import BaseCommand

from console.crypto import TokenUnavailableError, current_key_id, decrypt_token, encrypt_token
from console.models import DrGeroToken


class Command(BaseCommand):
    help = "Re-encrypt every stored Dr.Gero token under the first key of CONSOLE_TOKEN_KEYS."

    def handle(self, **options: Any) -> None:
        target = current_key_id()
        rotated = current = unreadable = 0
        for record in DrGeroToken.objects.select_related("user").iterator():
            if record.key_id == target:
                current += 1
                continue
            try:
                plain = decrypt_token(record.ciphertext, user_id=record.user_id)
            except TokenUnavailableError:
                unreadable += 1
                self.stderr.write(f"cannot decrypt the token of {record.user.get_username()}")
                continue
            value, key_id = encrypt_token(plain, user_id=record.user_id)
            DrGeroToken.objects.filter(pk=record.pk).update(ciphertext=value, key_id=key_id)
            rotated += 1
        self.stdout.write(
            f"re-encrypted {rotated}, already under {target}: {current}, unreadable: {unreadable}"
        )
