"""Time the admin's case change page and its timeline page; print median and p95.

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/admin_bench.py [--runs 20]

Requests go through Django's test client in this process (no network, no server), signed in
as a superuser ``admin-bench`` that is created when missing. Measured: GET of the change page
of the case with the most events and of a median case (the page shows the ten latest
events, however long the history), and GET of the first and the last page of the former's
timeline (fifty events a page). Each line gives the number of database queries of the last
request, and the median processor time of this process per request (``cpu ms``): on a
machine shared with other work the wall time waits for a core, the processor time much
less. The load average is printed before the table. The target is under 300 ms for the
change page at 100,000 cases.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import _common
from _common import allow_test_client, database_label, measure, print_table, summary
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.test import Client

from cases.models import Case, TimelineEvent


def main() -> None:
    """Run the measurements and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per page")
    args = parser.parse_args()
    _common.require_postgresql()
    allow_test_client()
    user, _ = get_user_model().objects.get_or_create(
        username="admin-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)

    busiest = (
        TimelineEvent.objects.filter(case__isnull=False)
        .values("case")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if busiest is None:
        raise SystemExit("No case with events; seed the database first (manage.py seed_demo).")
    big = Case.objects.get(pk=busiest["case"])
    total = Case.objects.count()
    middle = Case.objects.order_by("pk")[total // 2]
    pages = max(1, -(-busiest["n"] // 50))
    print(database_label())
    print("load average (1, 5, 15 min): " + ", ".join(f"{n:.2f}" for n in os.getloadavg()))
    scenarios = [
        (
            f"change page, busiest case ({busiest['n']} events)",
            f"/admin/cases/case/{big.pk}/change/",
        ),
        ("change page, a median case", f"/admin/cases/case/{middle.pk}/change/"),
        ("timeline page 1, busiest case", f"/admin/cases/case/{big.pk}/history/"),
        (
            f"timeline page {pages} (last), busiest case",
            f"/admin/cases/case/{big.pk}/history/?page={pages}",
        ),
        (
            "timeline, one kind, busiest case",
            f"/admin/cases/case/{big.pk}/history/?kind=case.status_changed",
        ),
    ]
    rows = []
    for label, url in scenarios:
        cpu: list[float] = []

        def get(url=url, cpu=cpu):
            started = time.process_time()
            response = client.get(url)
            cpu.append((time.process_time() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            return response

        durations = measure(get, args.runs)
        cpu_median = statistics.median(cpu[-args.runs :])
        # Each request starts with an empty query log (Django's request_started signal).
        connection.force_debug_cursor = True
        response = get()
        queries = len(connection.queries_log)
        connection.force_debug_cursor = False
        median, p95, runs = summary(durations)
        rows.append([label, median, p95, cpu_median, runs, queries, len(response.content)])
    print_table(["GET", "median ms", "p95 ms", "cpu ms", "runs", "queries", "bytes"], rows)


if __name__ == "__main__":
    main()
