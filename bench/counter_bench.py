"""Time the rate-limit counter's statement: the UNLOGGED table against a logged copy of it.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/counter_bench.py [--runs 2000] [--rounds 2]

Runs ``cases.api.counters.add`` on one key ``--runs`` times in autocommit, as an API request
does, first on the counters' table (UNLOGGED, migration 0029), then on a logged copy made
for the run (``CREATE TABLE ... (LIKE ...)``, dropped after). It prints the median and p95
milliseconds of one count, counts per second, and how many times the cluster flushed its
write-ahead log meanwhile (``pg_stat_wal.wal_sync``: other work on the server adds to it).
The key it counts and the copy are removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
from unittest import mock

import _common
from _common import database_label, measure, print_table, summary
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402

from cases.api import counters  # noqa: E402
from cases.models import RateLimitCounter  # noqa: E402

KEY = "bench:counter"
LOGGED_COPY = "bench_ratelimitcounter_logged"
#: A window end far ahead, so every count lands in one window.
WINDOW_END = 4_102_444_800


def wal_syncs() -> int:
    """Return the cluster's write-ahead log flushes so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT wal_sync FROM pg_stat_wal")
        return cursor.fetchone()[0]


@contextlib.contextmanager
def counting_in(table: str):
    """Make ``counters.add`` count in ``table`` (the real one, or the logged copy).

    The settings loaded here keep the counters in memory (``tracker.settings_test``), so the
    "ratelimit" cache is dropped for the run, as a deployment without Redis has none.
    """
    no_counter_cache = {"default": settings.CACHES["default"]}
    with (
        override_settings(CACHES=no_counter_cache),
        mock.patch.object(RateLimitCounter._meta, "db_table", table),
        mock.patch.object(counters, "_next_purge", float("inf")),
    ):
        assert not counters.uses_cache()
        yield


def main() -> None:
    """Time the counter on both tables, ``--rounds`` times in turn, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="counts per table and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of both tables in turn")
    args = parser.parse_args()
    _common.require_postgresql()
    print(database_label())
    real = RateLimitCounter._meta.db_table
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(LOGGED_COPY)}")
        cursor.execute(f"CREATE TABLE {quote(LOGGED_COPY)} (LIKE {quote(real)} INCLUDING ALL)")
        cursor.execute(
            "SELECT relname, relpersistence FROM pg_class WHERE relname IN (%s, %s)",
            [real, LOGGED_COPY],
        )
        persistence = dict(cursor.fetchall())
    rows = []
    try:
        for round_number in range(1, args.rounds + 1):
            for table in (real, LOGGED_COPY):
                with counting_in(table):
                    before = wal_syncs()
                    durations = measure(
                        lambda: counters.add(KEY, window_end=WINDOW_END, window=60),
                        args.runs,
                    )
                    syncs = wal_syncs() - before
                median, p95, _runs = summary(durations)
                label = "UNLOGGED" if persistence[table] == "u" else "logged"
                rows.append(
                    [
                        round_number,
                        f"{table} ({label})",
                        f"{median:.3f}",
                        f"{p95:.3f}",
                        f"{args.runs / (sum(durations) / 1000):.0f}",
                        syncs,
                    ]
                )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {quote(LOGGED_COPY)}")
            cursor.execute(f"DELETE FROM {quote(real)} WHERE key = %s", [KEY])
    print_table(
        ["round", "table", "median ms", "p95 ms", "counts/s", "cluster WAL flushes meanwhile"],
        rows,
    )


if __name__ == "__main__":
    main()
