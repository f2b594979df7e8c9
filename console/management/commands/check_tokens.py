"""``manage.py check_tokens``: which stored tokens decrypt, under which keys, who must re-enter."""

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand

from console.crypto import TokenUnavailableError, decrypt_token
from console.models import DrGeroToken


class Command(BaseCommand):
    help = "Report which stored Dr.Gero tokens decrypt with the configured keys."

    def handle(self, **options: Any) -> None:
        by_key: Counter[str] = Counter()
        must_reenter: list[str] = []
        total = 0
        for record in DrGeroToken.objects.select_related("user").iterator():
            total += 1
            try:
                decrypt_token(record.ciphertext, user_id=record.user_id)
            except TokenUnavailableError:
                must_reenter.append(record.user.get_username())
                continue
            by_key[record.key_id] += 1
        self.stdout.write(f"{sum(by_key.values())} of {total} tokens decrypt")
        for key_id, count in sorted(by_key.items()):
            self.stdout.write(f"  {key_id}: {count}")
        if must_reenter:
            self.stdout.write("Must enter their token again: " + ", ".join(sorted(must_reenter)))
