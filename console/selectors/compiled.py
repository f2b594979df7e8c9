"""ORM queries compiled once: the SQL Django writes for a query, kept per process and database,
and run again with each request's values.

Building a queryset and compiling it to SQL (resolving the filters, the joins, the subqueries)
took the ORM more Python time than the database took to answer, on queries every page asks:
the member's token row (0.29 ms against 0.06 ms), the models list's latest runs (0.87 ms
against 0.14 ms). Here the ORM still writes the SQL, for whichever database the console runs
on, once: with stand-in values, which are then found among the query's parameters and
replaced by the caller's. A value the ORM would have changed on its way to the database (a
date adapted, a pattern wrapped in ``%``) would not be found verbatim, so such a query is
refused when it is first compiled rather than run with the wrong value; this suits text and
whole-number columns compared as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.signals import setting_changed
from django.db import connections, models
from django.dispatch import receiver

M = TypeVar("M", bound=models.Model)

_EVERY: list[Compiled[Any]] = []


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    """A test that changes the databases compiles anew."""
    if kwargs.get("setting") == "DATABASES":
        for query in _EVERY:
            query.forget()


class Compiled(Generic[M]):
    """``build(*values)`` is a queryset of ``model``; ``stand_in(i)`` makes the i-th stand-in
    value, unlike any real one and of the column's type (the queryset is compiled with these).
    A query with any number of values (``pk__in``) is compiled once per count."""

    def __init__(
        self,
        model: type[M],
        build: Callable[..., models.QuerySet[M] | models.QuerySet[M, Any]],
        stand_in: Callable[[int], Any],
    ) -> None:
        self.model = model
        self.build: Callable[..., Any] = build
        self.stand_in = stand_in
        self._sql: dict[tuple[str, int], tuple[str, tuple[tuple[bool, Any], ...]]] = {}
        _EVERY.append(self)

    def forget(self) -> None:
        self._sql.clear()

    def _prepared(self, db: str, count: int) -> tuple[str, tuple[tuple[bool, Any], ...]]:
        key = (db, count)
        found = self._sql.get(key)
        if found is None:
            stand_ins = [self.stand_in(i) for i in range(count)]
            sql, params = self.build(*stand_ins).query.sql_with_params()
            slots: list[tuple[bool, Any]] = []
            used = set()
            for param in params:
                index = next(
                    (i for i, s in enumerate(stand_ins) if type(s) is type(param) and s == param),
                    None,
                )
                slots.append((True, index) if index is not None else (False, param))
                used.add(index)
            if not used.issuperset(range(count)):
                raise ValueError("a value did not reach the SQL as it was given")
            found = self._sql[key] = (sql, tuple(slots))
        return found

    def rows(self, *values: Any) -> list[M]:
        """The query's rows for these values, as model instances (columns the query leaves out
        are read when first used, as with ``defer``)."""
        db = self.model._default_manager.db
        sql, slots = self._prepared(db, len(values))
        params = [values[v] if is_value else v for is_value, v in slots]
        return list(self.model._default_manager.raw(sql, params).using(db))

    def tuples(self, *values: Any) -> list[tuple[Any, ...]]:
        """The query's rows as the database gives them (a ``values_list`` query): no field's
        conversion is applied, so this suits text and whole-number columns."""
        db = self.model._default_manager.db
        sql, slots = self._prepared(db, len(values))
        params = [values[v] if is_value else v for is_value, v in slots]
        with connections[db].cursor() as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    def first(self, *values: Any) -> M | None:
        found = self.rows(*values)
        return found[0] if found else None
