"""Signing in checks passwords as Django's ModelBackend does; each later request reads the
member, their console role and their notices' state in one query instead of three (a user,
their groups, and the notices every page's header counts).

The role is the highest of the member's role groups (see ``console.roles``); ``role_of``
finds it already on the user and asks nothing more. The notices' state (any not shown yet,
how many unread) is taken once, by the request's notices check (``NoticesMiddleware``), as
that check's own query would have read it at that moment; anything later in the request asks
the database again. The query is written out (table names from the models' own metadata)
because building the same annotated query through the ORM cost more Python time on every
request than the queries it saves.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group

from console.models import Notice
from console.roles import GROUP_ROLES, Role


@cache
def _sql() -> tuple[str, list[Any]]:
    user = get_user_model()._meta
    link = user.get_field("groups").remote_field.through._meta  # type: ignore[union-attr]
    group = Group._meta
    notice = Notice._meta.db_table
    cases = " ".join("WHEN g.name = %s THEN %s" for _ in GROUP_ROLES)
    params: list[Any] = [v for name, role in GROUP_ROLES.items() for v in (name, int(role))]
    # The same question as ``notices_state``, in two subqueries the notice_user_read index
    # answers: the unread notices, and those of them not shown yet.
    unread = f"FROM {notice} n WHERE n.user_id = u.id AND n.read_at IS NULL"
    sql = (
        f"SELECT u.*, (SELECT MAX(CASE {cases} ELSE 0 END) "  # noqa: S608  (names from models)
        f"FROM {link.db_table} ug JOIN {group.db_table} g ON g.id = ug.group_id "
        f"WHERE ug.user_id = u.id) AS console_rank, "
        f"(SELECT COUNT(*) {unread}) AS console_unread, "
        f"(SELECT COUNT(*) {unread} AND n.seen_at IS NULL) AS console_unseen "
        f"FROM {user.db_table} u WHERE u.id = %s"
    )
    return sql, params


class MemberBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        sql, params = _sql()
        try:
            pk = model._meta.pk.to_python(user_id)
        except Exception:  # noqa: BLE001  (a session holding a malformed id is no user)
            return None
        found = list(model._default_manager.raw(sql, [*params, pk]))
        if not found or not self.user_can_authenticate(found[0]):
            return None
        user: Any = found[0]
        rank = user.console_rank
        user._console_role = Role(rank) if rank else None
        user._console_notices = (bool(user.console_unseen), int(user.console_unread))
        return user
