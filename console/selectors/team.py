"""The Team page's reads."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from console.roles import Role, role_of
from console.services.team import role_label
from console.services.tokens import token_status


def team_members() -> list[dict[str, Any]]:
    """Every member, active first, with their role and whether their token is set."""
    users = get_user_model().objects.order_by("-is_active", "username").prefetch_related("groups")
    return [
        {
            "user": u,
            "role": role_label(u),
            "role_key": (role_of(u) or Role.VIEWER).name.lower(),
            "token": token_status(u),
        }
        for u in users
    ]
