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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Prepared:
    sql: str
    slots: tuple[tuple[bool, Any], ...]  # each parameter: (True, the caller's value's index)
    fields: tuple[str, ...]  # the model's columns, in order (model rows only)
    span: tuple[int, int]  # where they are in a row
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]


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
        self._sql: dict[tuple[str, int], _Prepared] = {}
        _EVERY.append(self)

    def forget(self) -> None:
        self._sql.clear()

    def _prepared(self, db: str, count: int) -> _Prepared:
        key = (db, count)
        found = self._sql.get(key)
        if found is None:
            stand_ins = [self.stand_in(i) for i in range(count)]
            compiler = self.build(*stand_ins).query.get_compiler(using=db)
            sql, params = compiler.as_sql()
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
            # What the ORM's model iterable works out for every query: which columns are the
            # model's fields, and how each is converted from what the database gives.
            select, klass = compiler.select, compiler.klass_info
            fields: tuple[str, ...] = ()
            span = (0, 0)
            if klass is not None:
                first, last = klass["select_fields"][0], klass["select_fields"][-1] + 1
                fields = tuple(column[0].target.attname for column in select[first:last])
                span = (first, last)
            converters = tuple(
                (position, tuple(convert), expression)
                for position, (convert, expression) in compiler.get_converters(
                    [column[0] for column in select]
                ).items()
            )
            found = self._sql[key] = _Prepared(sql, tuple(slots), fields, span, converters)
        return found

    def _fetch(self, db: str, prepared: _Prepared, values: tuple[Any, ...]) -> list[Any]:
        params = [values[v] if is_value else v for is_value, v in prepared.slots]
        connection = connections[db]
        with connection.cursor() as cursor:
            cursor.execute(prepared.sql, params)
            rows = cursor.fetchall()
        if not prepared.converters:
            return rows
        converted = []
        for found in rows:
            row = list(found)
            for position, convert, expression in prepared.converters:
                value = row[position]
                for converter in convert:
                    value = converter(value, expression, connection)
                row[position] = value
            converted.append(row)
        return converted

    def rows(self, *values: Any) -> list[M]:
        """The query's rows for these values, as model instances, converted as the ORM
        converts them (columns the query leaves out are read when first used, as with
        ``defer``)."""
        db = self.model._default_manager.db
        prepared = self._prepared(db, len(values))
        first, last = prepared.span
        return [
            self.model.from_db(db, prepared.fields, row[first:last])
            for row in self._fetch(db, prepared, values)
        ]

    def tuples(self, *values: Any) -> list[tuple[Any, ...]]:
        """The query's rows as tuples (a ``values_list`` query), converted as the ORM would."""
        db = self.model._default_manager.db
        prepared = self._prepared(db, len(values))
        return [tuple(row) for row in self._fetch(db, prepared, values)]

    def first(self, *values: Any) -> M | None:
        found = self.rows(*values)
        return found[0] if found else None
