"""``manage.py verify_audit``: recompute the audit chain and signatures; non-zero on any break."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from console.services.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain, signatures and recorded head."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-head", action="store_true", help="skip the comparison with the recorded head"
        )
        parser.add_argument(
            "--accept-missing-head",
            action="store_true",
            help="a missing head file is not a failure (a fresh replica, knowingly)",
        )

    def handle(self, **options: Any) -> None:
        result = audit_verify(
            check_head=not options["no_head"],
            accept_missing_head=options["accept_missing_head"],
        )
        if not result.ok:
            raise CommandError(
                f"Audit log verification FAILED after {result.checked} good events: "
                f"{result.problem}"
            )
        self.stdout.write(f"Audit log verified: {result.checked} events, chain intact.")
