"""``manage.py bench_data``: fill the database with synthetic runs and chained audit events.

For the benchmarks only (bench/): 100,000 runs and 1,000,000 audit events by default. The audit
events are a real chain, signed with the configured key, so ``verify_audit`` accepts them.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from console.models import AuditEvent, ModelSyncState, RunRecord
from console.services.audit import GENESIS_HASH, canonical_text, record_head, sign

CATEGORIES = [
    ("SUCCEEDED", "succeeded", 70),
    ("FAILED", "failed", 18),
    ("CANCELLED", "cancelled", 6),
    ("RUNNING", "running", 3),
    ("QUEUED", "queued", 2),
    ("WARMING_UP", "unknown", 1),
]
ACTIONS = [
    "model.update",
    "run.start",
    "run.sync",
    "schedule.update",
    "model.create",
    "token.set",
    "team.role_change",
    "audit.export",
]


class Command(BaseCommand):
    help = "Generate synthetic runs and audit events for the benchmarks (never in production)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--runs", type=int, default=100_000)
        parser.add_argument("--events", type=int, default=1_000_000)
        parser.add_argument("--models", type=int, default=50)
        parser.add_argument("--members", type=int, default=10)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, **options: Any) -> None:
        if RunRecord.objects.exists() or AuditEvent.objects.exists():
            raise CommandError("the database already has runs or audit events; use a fresh one")
        rng = random.Random(options["seed"])  # noqa: S311  (synthetic data, not security)
        users = self._members(options["members"])
        models = [(f"bench-model-{i:03d}", f"Bench Model {i}") for i in range(options["models"])]
        ModelSyncState.objects.bulk_create(
            [ModelSyncState(model_id=m, model_name=n) for m, n in models]
        )
        self._runs(rng, options["runs"], models, users)
        self._events(rng, options["events"], models, users)
        self.stdout.write(f"{options['runs']} runs and {options['events']} audit events written")

    def _members(self, count: int) -> list[Any]:
        User = get_user_model()  # noqa: N806
        return [User.objects.get_or_create(username=f"member{i:02d}")[0] for i in range(count)]

    def _runs(self, rng: random.Random, count: int, models: list, users: list) -> None:
        now = datetime.now(UTC)
        weights = [w for *_, w in CATEGORIES]
        batch: list[RunRecord] = []
        for n in range(count):
            status, category, _ = rng.choices(CATEGORIES, weights)[0]
            created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
            started = created + timedelta(seconds=rng.randint(5, 600))
            finished = duration = None
            if category in ("succeeded", "failed", "cancelled"):
                duration = rng.randint(300, 7200)
                finished = started + timedelta(seconds=duration)
            console = rng.random() < 0.7
            user = rng.choice(users) if console else None
            model_id, model_name = rng.choice(models)
            batch.append(
                RunRecord(
                    run_id=f"bench-run-{n:07d}",
                    model_id=model_id,
                    model_name=model_name,
                    status=status,
                    category=category,
                    created_at=created,
                    started_at=started if category != "queued" else None,
                    finished_at=finished,
                    duration_seconds=duration,
                    dataset_auto=n % 5 == 0,
                    dataset_rows=rng.choice([500, 1000, 2000, 5000]),
                    dataset_algorithm=rng.choice(["LAST_N", "RANDOM_SHUFFLE", "WEIGHTED_SHUFFLE"]),
                    create_synthetic_data=n % 4 == 0,
                    hypertuning_enabled=n % 3 != 0,
                    error="Out of memory on the training node." if category == "failed" else "",
                    started_by=user,
                    started_by_username=user.username if user else "",
                    origin="console" if console else "external",
                    first_seen_at=created,
                    raw={},
                )
            )
            if len(batch) == 5000:
                RunRecord.objects.bulk_create(batch)
                batch.clear()
        RunRecord.objects.bulk_create(batch)

    def _events(self, rng: random.Random, count: int, models: list, users: list) -> None:
        from django.conf import settings

        key_id = next(iter(settings.CONSOLE_AUDIT_KEYS))
        start = datetime.now(UTC) - timedelta(days=365)
        step = timedelta(days=365) / max(count, 1)
        prev = GENESIS_HASH
        batch: list[AuditEvent] = []
        for n in range(1, count + 1):
            user = rng.choice(users)
            model_id, model_name = rng.choice(models)
            values = {
                "seq": n,
                "created_at": start + step * n,
                "actor_id": user.pk,
                "actor_username": user.username,
                "action": rng.choice(ACTIONS),
                "target_type": "model",
                "target_id": model_id,
                "target_name": model_name,
                "model_id": model_id,
                "changes": '{"after": {"description": "new"}, "before": {"description": "old"}}',
                "outcome": "succeeded" if rng.random() < 0.9 else "failed",
                "status_code": None,
                "message": "",
                "client_ip": "203.0.113.9",
                "user_agent": "bench",
                "refers_to_seq": None,
                "prev_hash": prev,
            }
            text = canonical_text(values)
            mac = sign(key_id, text)
            batch.append(AuditEvent(**values, canonical=text, mac=mac, key_id=key_id))
            prev = mac
            if len(batch) == 10_000:
                with transaction.atomic():
                    AuditEvent.objects.bulk_create(batch)
                batch.clear()
        with transaction.atomic():
            AuditEvent.objects.bulk_create(batch)
        if count:
            record_head(count, prev)
