"""Time the analysts' pages against the database given by DATABASE_URL; print median and p95.

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_pagesbench \\
        .venv/bin/python bench/pages_bench.py [--runs 20] [--export-runs 3]

Requests go through Django's test client in this process (no network, no server, no test
instrumentation of templates), signed in
as a staff user ``pages-bench`` that is created when missing. Measured: the case list
without filters, sorted, with a broad filter, with a name search and with the analysts'
combined question, each "cold" (the counts and charts computed on every request: the cache
is emptied before each) and "warm" (the counts read from the cache, as a repeated question
does until the timeline changes); the admin's case list; and the full CSV export read to its
last byte (``bench/export_bench.py`` measures the export's memory in a process of its own).
Each line gives the number of database queries of the last request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings_test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from cases.models import Case, Party  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def timed(
    client: Client, url: str, params: dict, runs: int, *, cold: bool = False
) -> tuple[list[float], int, int, int]:
    """Return the durations of ``runs`` GETs, the last status, body size and query count.

    ``cold`` empties the cache before each request (untimed), so the list's counts are
    computed every time instead of read from the cache.
    """
    durations, status, size, queries = [], 0, 0, 0
    for _ in range(runs):
        if cold:
            cache.clear()
        connection.queries_log.clear()
        start = time.perf_counter()
        response = client.get(url, params)
        if response.streaming:
            size = sum(len(chunk) for chunk in response.streaming_content)
        else:
            size = len(response.content)
        durations.append(time.perf_counter() - start)
        status = response.status_code
        queries = len(connection.queries_log)
    return durations, status, size, queries


def main() -> None:
    """Run the measurements and print one line per scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per list scenario")
    parser.add_argument("--export-runs", type=int, default=3, help="runs of the CSV export")
    args = parser.parse_args()

    # Not setup_test_environment(): its template instrumentation would be timed too.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user, _ = get_user_model().objects.get_or_create(
        username="pages-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)

    cases = Case.objects.count()
    party = Party.objects.filter(cases_held__isnull=False).order_by("name").first()
    print(f"database: {django.db.connection.vendor}, cases: {cases}")
    question = {
        "current_intention": "third_state",
        "destination_country": "KR",
        "intention_verified": "false",
        "request_kind": "third_state_transfer",
        "request_status": "filed,acknowledged,under_review",
    }
    if party is not None:
        question["detaining_party"] = str(party.uuid)
    lists = [
        ("list, no filter", {}),
        ("list, page 3 sorted by last change", {"ordering": "-updated_at", "page": 3}),
        ("list, status=interned", {"status": "interned"}),
        ("list, name search q=리", {"q": "리"}),
        ("list, analysts' question", question),
    ]
    # Each list twice: "cold" computes the counts and charts on every request (the cache
    # emptied before each), "warm" reads them from the cache, as a repeated or shared
    # question does until the timeline changes (cases.pages.charts.case_counts).
    scenarios = [
        (f"{label} ({state})", "/cases/", params, args.runs, state == "cold")
        for label, params in lists
        for state in ("cold", "warm")
    ]
    scenarios += [
        ("admin case list", "/admin/cases/case/", {}, args.runs, False),
        ("admin case list, search", "/admin/cases/case/", {"q": "Lee"}, args.runs, False),
        ("CSV export, all cases", "/cases/export.csv", {}, args.export_runs, False),
    ]
    failed = []
    # Count queries (connection.queries_log) without DEBUG's other costs.
    connection.force_debug_cursor = True
    for label, url, params, runs, cold in scenarios:
        client.get(url, params)  # warm caches and connections
        durations, status, size, queries = timed(client, url, params, runs, cold=cold)
        if status != 200:
            failed.append(f"{label}: HTTP {status}")
        print(
            f"{label:42} status {status}  runs {runs:3}  "
            f"median {statistics.median(durations) * 1000:9.1f} ms  "
            f"p95 {percentile(durations, 0.95) * 1000:9.1f} ms  "
            f"queries {queries:3}  size {size / 1024:9.1f} KiB",
            flush=True,
        )
    if failed:
        sys.exit("Failed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
