"""Reads compiled once per process and run with a new value: a case's detail's queries.

Building a queryset with joins and subqueries and compiling it to SQL cost several times
what running it did for one case's detail. A :class:`CompiledRows` builds its queryset
once per database (and variant, such as whether the reader sees true names) with a
placeholder for its one varying value, keeps the SQL, and on each run substitutes the
value and converts the columns with the running connection's converters, as iterating the
queryset's ``values()`` would: the rows are the same dictionaries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model, QuerySet


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    #: The index in ``params`` of the varying value.
    slot: int
    names: tuple[str, ...]
    expressions: tuple


class CompiledRows:
    """A ``values()`` queryset of ``model`` that varies only in one value of ``field``.

    ``build(value, context)`` returns the queryset for ``value``; ``placeholder`` is a value
    of ``field`` that never names a row, substituted for the real one in the kept SQL.
    ``variant`` names whatever else changes the SQL (hashable, e.g. whether the reader sees
    true names), and ``context`` what ``build`` needs to build that variant (the reader).
    """

    def __init__(
        self,
        model: type[Model],
        field: Field,
        placeholder: Any,
        build: Callable[[Any, Any], QuerySet],
    ):
        self.model = model
        self.field = field
        self.placeholder = placeholder
        self.build = build
        self._statements: dict[tuple[str, Hashable], _Statement] = {}
        self._lock = threading.Lock()

    def _statement(self, alias: str, variant: Hashable, context: Any) -> _Statement:
        found = self._statements.get((alias, variant))
        if found is not None:
            return found
        connection = connections[alias]
        queryset = self.build(self.placeholder, context).using(alias)
        query = queryset.query
        compiler = query.get_compiler(alias)
        sql, params = compiler.as_sql()
        placeholder = self.field.get_db_prep_value(self.placeholder, connection)
        slots = [index for index, param in enumerate(params) if param == placeholder]
        if len(slots) != 1:
            raise ValueError(f"The placeholder appears {len(slots)} times in {sql!r}.")
        # The names of the row's columns as ``values()`` iteration takes them.
        if query.selected:
            names = tuple(query.selected)
        else:
            names = (*query.extra_select, *query.values_select, *query.annotation_select)
        statement = _Statement(
            sql=sql,
            params=tuple(params),
            slot=slots[0],
            names=names,
            expressions=tuple(column[0] for column in compiler.select[: len(names)]),
        )
        with self._lock:
            self._statements[(alias, variant)] = statement
        return statement

    def rows(self, value: Any, variant: Hashable = None, context: Any = None) -> list[dict]:
        """Return the queryset's ``values()`` rows for ``value``, as iterating it would."""
        alias = router.db_for_read(self.model)
        statement = self._statement(alias, variant, context)
        connection = connections[alias]
        params = list(statement.params)
        params[statement.slot] = self.field.get_db_prep_value(value, connection)
        converters = []
        for index, expression in enumerate(statement.expressions):
            functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(
                connection
            )
            if functions:
                converters.append((index, functions, expression))
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            fetched = cursor.fetchall()
        names = statement.names
        found = []
        for row in fetched:
            row = list(row)
            for index, functions, expression in converters:
                cell = row[index]
                for function in functions:
                    cell = function(cell, expression, connection)
                row[index] = cell
            found.append(dict(zip(names, row, strict=False)))
        return found
