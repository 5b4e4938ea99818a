"""The API's rate-limit counters, shared by every server process: a table, or the cache.

A counter counts one credential's requests in the current fixed window of one scope
(cases/api/throttling.py says which). Where it is kept:

- **The database** (the default, ``DJANGO_CACHE_URL`` unset or ``db://``): table
  ``cases_ratelimitcounter``, one row per scope and credential that carries the end of the
  window it counts. One statement counts a request, in autocommit::

      INSERT ... VALUES (key, window_end, 1) ON CONFLICT (key) DO UPDATE SET
          count = CASE WHEN stored window_end >= new window_end THEN count + 1 ELSE 1 END, ...
      RETURNING count, window_end

  The row lock the statement takes queues concurrent increments of one counter, so none is
  lost; a request of a window that has ended starts the next at one. It is one round trip
  and, as the table is UNLOGGED on PostgreSQL (migration 0029), a commit that flushes
  nothing to disk. SQLite runs the same statement (3.35 or later). A request computed
  against an older window than the row's (a slow process, a host's clock behind) is counted
  in the row's newer window, never moving it back. The rows of ended windows are deleted by
  each process every :data:`PURGE_SECONDS`, so addresses that called once do not pile up.
- **The cache** named ``ratelimit`` when ``CACHES`` has one (``DJANGO_CACHE_URL`` names
  Redis, or ``locmem://`` for one process): one key per credential and window, counted with
  the cache's ``incr`` (Redis's ``INCR``, atomic), started with ``add``, expiring after the
  window.

Counting always uses the primary database (tracker/db_routers.py): a replica is read-only and
behind. Counting inside an outer transaction (none is open around an API request:
``ATOMIC_REQUESTS`` is off) would hold the counter's row lock until that transaction ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import connections, router

from cases.models import RateLimitCounter

#: The cache alias that, when configured, holds the counters instead of the database.
RATE_LIMIT_CACHE = "ratelimit"
#: Seconds between two deletions, by one process, of the rows whose window has ended.
PURGE_SECONDS = 300.0

# When this process next deletes the rows of ended windows (on the monotonic clock).
_next_purge = time.monotonic() + PURGE_SECONDS


@dataclass(frozen=True)
class Count:
    """A counter's value after a request was added, and the end of the window it counts."""

    used: int
    window_end: int


def uses_cache() -> bool:
    """Return True when the counters live in the ``ratelimit`` cache, False for the table."""
    return RATE_LIMIT_CACHE in settings.CACHES


def _table_and_connection():
    """Return the counters' quoted table name and the primary's connection."""
    connection = connections[router.db_for_write(RateLimitCounter)]
    return connection.ops.quote_name(RateLimitCounter._meta.db_table), connection


def add(key: str, *, window_end: int, window: int) -> Count:
    """Add one request to ``key``'s counter of the window ending at ``window_end``.

    ``key`` names the scope and credential; ``window`` is the window's length in seconds.
    Return the count including this request and the end of the window it was counted in.
    """
    if uses_cache():
        return _cache_add(key, window_end=window_end, window=window)
    table, connection = _table_and_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS counter (key, window_end, count) VALUES (%s, %s, 1) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN counter.window_end >= excluded.window_end "
            "THEN counter.count + 1 ELSE 1 END, "
            "window_end = CASE WHEN counter.window_end >= excluded.window_end "
            "THEN counter.window_end ELSE excluded.window_end END "
            "RETURNING count, window_end",
            [key, window_end],
        )
        used, stored_end = cursor.fetchone()
    _purge_if_due()
    return Count(used=used, window_end=stored_end)


def give_back(key: str, *, window_end: int) -> int | None:
    """Take one request off ``key``'s counter if it still counts that window; return the count.

    Return None when the window has ended meanwhile (the next starts at zero anyway).
    """
    if uses_cache():
        try:
            return caches[RATE_LIMIT_CACHE].decr(f"{key}:{window_end}")
        except ValueError:
            return None
    table, connection = _table_and_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET count = count - 1 "
            "WHERE key = %s AND window_end = %s AND count > 0 RETURNING count",
            [key, window_end],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def purge_ended_windows(*, now: float | None = None) -> int:
    """Delete the counters whose window has ended; return how many."""
    table, connection = _table_and_connection()
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE window_end <= %s",
            [int(time.time() if now is None else now)],
        )
        return cursor.rowcount


def _purge_if_due() -> None:
    """Delete the rows of ended windows when this process has not done so for a while."""
    global _next_purge
    if time.monotonic() < _next_purge:
        return
    _next_purge = time.monotonic() + PURGE_SECONDS
    purge_ended_windows()


def _cache_add(key: str, *, window_end: int, window: int) -> Count:
    """Count in the ``ratelimit`` cache: one key per window, ``incr``, ``add`` to start it."""
    cache = caches[RATE_LIMIT_CACHE]
    window_key = f"{key}:{window_end}"
    try:
        return Count(used=cache.incr(window_key), window_end=window_end)
    except ValueError:
        if cache.add(window_key, 1, window + 1):
            return Count(used=1, window_end=window_end)
        # Another process made the counter between our incr and our add.
        return Count(used=cache.incr(window_key), window_end=window_end)
