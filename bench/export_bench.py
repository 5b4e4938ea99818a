"""Measure the CSV export of every case: time, and the memory the process needs for it.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/export_bench.py [--format csv|xlsx] [--runs N] [--no-trace]

The download goes through the whole view (middleware, permission check, access log) and its
streamed body is read to the last byte. Each run gives its wall seconds and the seconds of
processor time this process spent (the database's work is not in them): on a busy machine
the wall time mostly says how long the process waited for a core, the processor time what
the export costs. With ``--runs`` the median of each is printed.

Runs in a process of its own so that the peak resident set size (``ru_maxrss``) reflects the
export and nothing else: it prints the peak before the export (Django loaded, one warm-up
request of the list) and after it, and the peak of Python allocations during a second
export (tracemalloc, which slows Python down, so the first export alone is timed). Flat
memory means the peak does not grow with the number of rows.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc

import _common  # noqa: F401  (sets up Django)
from _common import allow_test_client, database_label, print_table
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

EXPORTS = {"csv": "/cases/export.csv", "xlsx": "/cases/export.xlsx"}


def peak_rss_mib() -> float:
    """Return the process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def export_once(client: Client, url: str) -> tuple[int, int, float, float]:
    """Download ``url`` to its last byte; return its size, its lines, the wall seconds taken
    and the processor seconds this process spent."""
    started, cpu_started = time.perf_counter(), time.process_time()
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"export: HTTP {response.status_code}")
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    return size, lines, time.perf_counter() - started, time.process_time() - cpu_started


def main() -> int:
    """Export every case twice (timed, then traced), read to the last byte; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=sorted(EXPORTS), default="csv")
    parser.add_argument("--runs", type=int, default=1, help="untraced exports; medians shown")
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="skip the second, traced export (tracemalloc makes a large export take minutes)",
    )
    args = parser.parse_args()
    _common.require_postgresql()
    allow_test_client()
    user, _ = get_user_model().objects.get_or_create(
        username="pages-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    print(database_label())
    warm = client.get("/cases/")
    if warm.status_code != 200:
        print(f"case list: HTTP {warm.status_code}")
        return 1
    url = EXPORTS[args.format]
    before = peak_rss_mib()
    timings = [export_once(client, url) for _ in range(max(1, args.runs))]
    size, lines = timings[0][:2]
    seconds = statistics.median(run[2] for run in timings)
    cpu_seconds = statistics.median(run[3] for run in timings)
    after = peak_rss_mib()
    # tracemalloc slows Python down several times over, so it gets a run of its own.
    traced_peak, traced_seconds = None, None
    if not args.no_trace:
        tracemalloc.start()
        _size, _lines, traced_seconds, _cpu = export_once(client, url)
        _current, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rows = lines - 1 if args.format == "csv" else "-"
    print_table(
        [
            f"{args.format.upper()} export",
            "rows",
            "runs",
            "seconds",
            "CPU seconds",
            "MiB",
            "peak RSS before MiB",
            "peak RSS after MiB",
            "traced peak MiB",
            "seconds traced",
        ],
        [
            [
                "all cases",
                rows,
                len(timings),
                seconds,
                cpu_seconds,
                size / 2**20,
                before,
                after,
                "-" if traced_peak is None else traced_peak / 2**20,
                "-" if traced_seconds is None else traced_seconds,
            ]
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
