"""Reads compiled once per process and run with a new value: a case's detail's queries.

Building a queryset with joins and subqueries and compiling it to SQL cost several times
what running it did for one case's detail. A :class:`CompiledRows` builds its queryset
once per database (and variant, such as whether the reader sees true names) with a
placeholder for its one varying value, keeps the SQL, and on each run substitutes the
value and converts the columns with the running connection's converters, as iterating the
queryset's ``values()`` would: the rows are the same dictionaries.

On PostgreSQL, when the connection is kept between requests (``CONN_MAX_AGE`` not 0) and
prepared statements are allowed (``settings.PREPARED_STATEMENTS``, :func:`prepares`), the
statement is also prepared on the server the first time a connection runs it: each later
run is executed without being planned again (planning one of a detail's statements took 1
to 3 ms, running it a tenth of a millisecond). Its one varying value is sent apart (a plan
for any case serves: each reads one case by its key). :func:`values_rows` prepares a
list's page the same way, its values written in, once it is asked a second time.
Prepared statements live on their connection until psycopg deallocates them: after a
rollback (a savepoint's too) and after a DROP or ALTER it runs, and, beyond the
:data:`PREPARED_PER_CONNECTION` most recently used, the oldest; each is prepared again on
its next run.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import NotSupportedError, connections, router
from django.db.models import Field, Model, QuerySet


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple
    #: The index in ``params`` of the varying value (None: nothing varies).
    slot: int | None
    names: tuple[str, ...]
    expressions: tuple


class CompiledRows:
    """A ``values()`` queryset of ``model`` that varies only in one value of ``field``.

    ``build(value, context)`` returns the queryset for ``value``; ``placeholder`` is a value
    of ``field`` that never names a row, substituted for the real one in the kept SQL. With
    ``field`` None nothing varies but the variant (``value`` is then ignored).
    ``variant`` names whatever else changes the SQL (hashable, e.g. whether the reader sees
    true names), and ``context`` what ``build`` needs to build that variant (the reader).
    """

    def __init__(
        self,
        model: type[Model],
        field: Field | None,
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
        if self.field is None:
            slots = [None]
        else:
            placeholder = self.field.get_db_prep_value(self.placeholder, connection)
            slots = [index for index, param in enumerate(params) if param == placeholder]
        if len(slots) != 1:
            raise ValueError(f"The placeholder appears {len(slots)} times in {sql!r}.")
        names, expressions = _names_and_expressions(query, compiler)
        statement = _Statement(
            sql=sql,
            params=tuple(params),
            slot=slots[0],
            names=names,
            expressions=expressions,
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
        if statement.slot is not None:
            params[statement.slot] = self.field.get_db_prep_value(value, connection)
        return _run(connection, statement.sql, params, statement.names, statement.expressions)


def _names_and_expressions(query, compiler) -> tuple[tuple[str, ...], tuple]:
    """Return the names of a compiled ``values()`` query's columns, as iterating it takes
    them, and their expressions (for their converters)."""
    if query.selected:
        names = tuple(query.selected)
    else:
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
    return names, tuple(column[0] for column in compiler.select[: len(names)])


def _run(connection, sql: str, params, names, expressions, *, prepare=True) -> list[dict]:
    """Run ``sql`` on a cursor for kept statements (on Django's own cursor unless
    ``prepare``); return its rows as ``values()`` gives them, each column converted by the
    connection's converters."""
    converters = []
    for index, expression in enumerate(expressions):
        functions = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if functions:
            converters.append((index, functions, expression))
    try:
        with _cursor_for_kept_statements(connection, prepare=prepare) as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
    except NotSupportedError as error:
        # A prepared statement whose columns a migration changed since ("cached plan must
        # not change result type", SQLSTATE 0A000 whatever the server's language): forget
        # this connection's prepared statements and run it again, prepared anew. Inside a
        # transaction the error has ended it: raised.
        if getattr(error.__cause__, "sqlstate", None) != "0A000" or connection.in_atomic_block:
            raise
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")  # psycopg forgets its own names with it
        with _cursor_for_kept_statements(connection) as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
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


def values_rows(queryset: QuerySet) -> list[dict]:
    """Return the rows of a ``values()`` queryset, as ``list(queryset)`` would.

    Where kept statements are prepared (:func:`prepares`), the statement is prepared too,
    with its values written into its text as Django's own cursors write them: the same
    list asked again on the same connection (an integration polling a page, a page
    reloaded) runs without being planned again, and each set of values keeps the plan made
    for it, never a plan made for others. (A list's page took 2 to 7 ms to plan and under
    1 ms to run.) A page's plan holds about 0.6 MB of the server's memory, so a page is
    prepared only when its connection is asked for it a second time: a page read once (a
    date that moves, a page deep in a list) is planned and run as Django runs it.
    """
    connection = connections[queryset.db]
    if not prepares(connection):
        return list(queryset)
    query = queryset.query
    compiler = query.get_compiler(queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    text = connection.ops.compose_sql(sql, params)
    names, expressions = _names_and_expressions(query, compiler)
    connection.ensure_connection()
    seen = _SEEN.setdefault(connection.connection, OrderedDict())
    key = hashlib.sha256(text.encode()).digest()
    if key not in seen:
        seen[key] = None
        if len(seen) > SEEN_PER_CONNECTION:
            seen.popitem(last=False)
        return _run(connection, text, None, names, expressions, prepare=False)
    seen.move_to_end(key)
    return _run(connection, text, None, names, expressions)


#: How many statements psycopg keeps prepared on a connection (the most recently used).
PREPARED_PER_CONNECTION = 32
#: How many list pages' texts (their digests) a connection remembers having run once.
SEEN_PER_CONNECTION = 512
# {psycopg connection: the digests of the list pages it ran, oldest first}
_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def prepares(connection) -> bool:
    """Return True when kept statements are prepared on ``connection``: on PostgreSQL, unless
    ``settings.PREPARED_STATEMENTS`` is "off", and with "kept" (the default) only where the
    connection is kept between requests (``CONN_MAX_AGE`` not 0; a statement prepared on a
    connection closed after one request is never used again)."""
    mode = settings.PREPARED_STATEMENTS
    return (
        connection.vendor == "postgresql"
        and mode != "off"
        and (mode == "always" or connection.settings_dict["CONN_MAX_AGE"] != 0)
        and connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    )


#: The connections whose prepared statements are planned once, for any value.
#: PostgreSQL plans a prepared statement's first five runs for their own values before it
#: weighs a plan for any value; a kept statement reads one row (or one case's rows) by its
#: key, which one plan serves, so planning five times per connection would be waste. The
#: setting is the session's: the only other statements it applies to are the triggers'
#: (PL/pgSQL), which read by key too, and the list pages prepared with their values written
#: in, which have no value to plan for.
_PLANNED_ONCE: weakref.WeakSet = weakref.WeakSet()


@functools.cache
def _preparing_cursor_class() -> type:
    """Return Django's server-binding psycopg cursor, made to prepare every statement it
    runs (imported on first use: psycopg is there only with PostgreSQL)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


@functools.cache
def _preparing_debug_wrapper_class() -> type:
    """Return Django's query-logging cursor wrapper, logging a prepared statement's SQL
    with its values (Django reads it back from a client-binding cursor, which this is not)."""
    from django.db.backends.postgresql.base import CursorDebugWrapper
    from django.db.backends.utils import CursorWrapper

    class PreparingDebugWrapper(CursorDebugWrapper):
        def execute(self, sql, params=None):
            with self.debug_sql(self.db.ops.compose_sql(sql, params), params):
                return CursorWrapper.execute(self, sql, params)

    return PreparingDebugWrapper


def _cursor_for_kept_statements(connection, *, prepare: bool = True):
    """Return a cursor of ``connection`` for a kept statement: Django's own, or on
    PostgreSQL when :func:`prepares`, one binding its values on the server and preparing
    each statement it runs, set up and wrapped as Django sets up and wraps its own (time
    zone, errors, query log, execute wrappers)."""
    if not prepare or not prepares(connection):
        return connection.cursor()
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        if raw not in _PLANNED_ONCE and not connection.in_atomic_block:
            # Outside a transaction, so that no rollback undoes it; a connection whose first
            # kept statement runs inside one is set at its next outside one. The session's
            # setting, not a read: sent as Django sends its own (time zone, role) when it
            # connects, outside the query log, so that no request's query count depends
            # on whether its connection was new.
            raw.execute("SET plan_cache_mode = force_generic_plan")
            raw.prepared_max = PREPARED_PER_CONNECTION
            _PLANNED_ONCE.add(raw)
        cursor = _preparing_cursor_class()(raw)
        loader = raw.adapters.get_loader(raw.adapters.types["timestamptz"].oid, Format.TEXT)
        if connection.timezone != loader.timezone:
            register_tzloader(connection.timezone, cursor)
        connection.validate_thread_sharing()
        if connection.queries_logged:
            return _preparing_debug_wrapper_class()(cursor, connection)
        return connection.make_cursor(cursor)
