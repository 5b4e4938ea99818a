"""Shared pieces of the benchmarks: Django set-up, timing, percentiles and the table printer.

Import this module before anything from Django: it puts the project on ``sys.path`` and
sets the settings module (``tracker.settings_test`` unless one is set) before
``django.setup()``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
#: The environment as the caller set it. ``tracker.settings_test`` fills in defaults of its
#: own (a per-process cache, credentials kept 300 s, ...) with ``os.environ.setdefault``; a
#: server started from this process must not inherit those as if they were the caller's.
ENVIRON = dict(os.environ)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings_test")
# The test client's requests pass the request-log middleware too; a JSON line per timed
# request would flood the tables and time the logging. load_bench.py turns it on for the
# server it starts.
os.environ.setdefault("DJANGO_REQUEST_LOG", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402


def require_postgresql() -> None:
    """Exit with a message unless DATABASE_URL names a PostgreSQL database."""
    if connection.vendor != "postgresql":
        sys.exit("The benchmarks measure PostgreSQL; set DATABASE_URL to a postgres:// URL.")


def allow_test_client() -> None:
    """Let Django's test client (host ``testserver``) through ALLOWED_HOSTS."""
    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(action: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Call ``action`` ``warmup`` times untimed, then ``runs`` times; return milliseconds."""
    for _ in range(warmup):
        action()
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def summary(durations: list[float]) -> tuple[float, float, int]:
    """Return the median, the p95 (both in ms) and the number of runs."""
    return statistics.median(durations), percentile(durations, 0.95), len(durations)


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    """Print ``rows`` under ``headers`` as a Markdown table (pasteable into the docs)."""
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |"
        for row in cells
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    print("\n".join(lines), flush=True)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def database_label() -> str:
    """Return the database's name, server version and number of cases and events."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_database(), current_setting('server_version'), "
            "(SELECT count(*) FROM cases_case), (SELECT count(*) FROM cases_timelineevent)"
        )
        name, version, cases, events = cursor.fetchone()
    return f"{connection.vendor} {version}, database {name}: {cases:,} cases, {events:,} events"
