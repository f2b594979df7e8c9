"""Seed data: ``demo`` (two workspaces, the documented demo tokens) or ``empty``."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from drgero_client.sandbox.state import (
    ALGORITHMS,
    SandboxState,
    TokenGrant,
    Workspace,
)

MAIN_WORKSPACE = "ws_main"
FREE_WORKSPACE = "ws_free"
DOCUMENTED_LEADERBOARD_ID = "b60fe691-06a3-4261-bec3-6080380dc72d"

# The sandbox's documented demo tokens: public, and accepted by nothing but the sandbox.
DEMO_TOKENS = {
    "drgero_sandbox_full": TokenGrant(MAIN_WORKSPACE, ("*",)),
    "drgero_sandbox_readonly": TokenGrant(MAIN_WORKSPACE, ("models:read", "leaderboards:read")),
    "drgero_sandbox_nofinetune": TokenGrant(
        MAIN_WORKSPACE, ("models:read", "models:write", "leaderboards:read")
    ),
    "drgero_sandbox_freeplan": TokenGrant(FREE_WORKSPACE, ("*",)),
}

LEADERBOARDS = [
    (DOCUMENTED_LEADERBOARD_ID, "Customer Support QA", "Answers to real support tickets."),
    ("4f1c2b7e-9d3a-4c61-8a55-0b9e2f7d1c20", "Billing Questions", "Invoices, refunds, plans."),
    ("a7d3e9c1-2b4f-4e8a-9c6d-5f1e3b7a2d90", "Product Docs Recall", "Facts from product docs."),
]

BASE_MODELS = [
    ("llama-3.1-8b-instruct", "Llama 3.1 8B Instruct", "Meta"),
    ("mistral-7b-instruct-v0.3", "Mistral 7B Instruct v0.3", "Mistral AI"),
    ("qwen2.5-7b-instruct", "Qwen 2.5 7B Instruct", "Alibaba"),
    ("gemma-2-9b-it", "Gemma 2 9B IT", "Google"),
    ("phi-3.5-mini-instruct", "Phi 3.5 Mini Instruct", "Microsoft"),
]

MODELS = [
    ("Support Assistant", "Fine-tuned from support leaderboards", [0], True, True, False),
    ("Billing Helper", "Answers billing questions in a friendly tone", [1], True, False, True),
    ("Docs Navigator", "Finds the right page of the product docs", [2], False, True, False),
    ("Escalation Triage", "Decides which tickets need a human", [0, 1], True, True, True),
    ("Refund Drafts", "Drafts refund replies for review", [1], False, False, False),
    ("Onboarding Guide", "Walks new customers through set-up", [0, 2], True, False, False),
]


def seed(state: SandboxState, name: str) -> None:
    """Fill ``state`` with the named seed. ``empty`` keeps the tokens but no data."""
    if name not in ("demo", "empty"):
        raise ValueError(f"unknown seed {name!r}; use demo or empty")
    with state.lock:
        state.workspaces = {
            MAIN_WORKSPACE: Workspace(MAIN_WORKSPACE, "Support Team", "paid"),
            FREE_WORKSPACE: Workspace(FREE_WORKSPACE, "Side Project", "free"),
        }
        state.tokens = dict(DEMO_TOKENS)
        state.models.clear()
        state.runs.clear()
        state.leaderboards.clear()
        state.base_models = [
            {"id": ident, "name": label, "provider": provider, "context_length": 8192}
            for ident, label, provider in BASE_MODELS
        ]
        for ident, label, description in LEADERBOARDS:
            state.leaderboards[ident] = {
                "id": ident,
                "name": label,
                "description": description,
                "_workspace": MAIN_WORKSPACE,
            }
        free_board = "3c9e1d2a-7b6f-4a8e-b1c3-d5e7f9a1b2c4"
        state.leaderboards[free_board] = {
            "id": free_board,
            "name": "Hobby Prompts",
            "description": "A free-plan leaderboard.",
            "_workspace": FREE_WORKSPACE,
        }
    if name == "empty":
        return
    _seed_demo(state, free_board)


def _seed_demo(state: SandboxState, free_board: str) -> None:
    rng = random.Random(20261126)  # noqa: S311  (repeatable demo data, not security)
    # The same ids on every start, so a console restarted against a new sandbox finds the
    # same models and runs again instead of taking the old ones for deleted.
    ids = random.Random(20261127)  # noqa: S311

    def next_id() -> str:
        return str(uuid.UUID(int=ids.getrandbits(128), version=4))

    now = state.clock.now()
    board_ids = [b[0] for b in LEADERBOARDS]
    model_ids = []
    for index, (label, description, boards, auto, learning, hyper) in enumerate(MODELS):
        schedule = None
        if index == 0:
            schedule = {
                "run": {"type": "WEEKLY"},
                "dataset": {
                    "mode": "LIMIT",
                    "limit": {"auto": False, "rows": 2000, "algorithm": "WEIGHTED_SHUFFLE"},
                },
            }
        model = state.add_model(
            "ws_main",
            id=next_id(),
            name=label,
            description=description,
            leaderboard_ids=[board_ids[b] for b in boards],
            auto_update_model=auto,
            continuous_self_learning=learning,
            hypertuning_parameters=hyper,
            fine_tune_schedule=schedule,
            base_model_id=BASE_MODELS[index % len(BASE_MODELS)][0],
            created_at=(now - timedelta(days=60 - index)).isoformat().replace("+00:00", "Z"),
        )
        model_ids.append(model["id"])
    # About forty finished runs over the last month, in every final status.
    for n in range(38):
        model_id = model_ids[n % len(model_ids)]
        created = now - timedelta(days=rng.uniform(1, 30), minutes=rng.randint(0, 600))
        outcome = rng.choices(["SUCCEEDED", "FAILED", "CANCELLED"], weights=[7, 2, 1])[0]
        state.add_run(
            model_id,
            id=next_id(),
            created_at=created,
            outcome=outcome,
            error="Out of memory on the training node." if outcome == "FAILED" else None,
            queue_seconds=rng.randint(10, 300),
            run_seconds=rng.randint(600, 5400),
            trigger="schedule" if model_id == model_ids[0] and n % 2 else "api",
            request={
                "dataset_size": {
                    "mode": "LIMIT",
                    "limit": {
                        "auto": n % 5 == 0,
                        "rows": rng.choice([500, 1000, 2000, 5000]),
                        "algorithm": ALGORITHMS[n % 3],
                    },
                },
                "create_synthetic_data": n % 4 == 0,
                "hypertuning_enabled": n % 3 != 0,
            },
        )
    # One run queued and one running right now, on models other than the first.
    state.add_run(
        model_ids[1], id=next_id(), created_at=now - timedelta(seconds=5), queue_seconds=60
    )
    state.add_run(
        model_ids[2],
        id=next_id(),
        created_at=now - timedelta(seconds=90),
        queue_seconds=30,
        run_seconds=900,
    )
    free_model = state.add_model(
        "ws_free",
        id=next_id(),
        name="Weekend Experiment",
        description="A model in the free-plan workspace",
        leaderboard_ids=[free_board],
    )
    state.add_run(
        free_model["id"],
        id=next_id(),
        created_at=now - timedelta(days=3),
        outcome="SUCCEEDED",
    )
