"""Time the analysts' pages against the database given by DATABASE_URL; print median and p95.

Usage:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_pagesbench \\
        .venv/bin/python bench/pages_bench.py [--runs 20] [--export-runs 3]

Requests go through Django's test client in this process (no network, no server, no test
instrumentation of templates), signed in
as a staff user ``pages-bench`` that is created when missing. Measured: the case list
without filters, with a name search, with the analysts' combined question, the admin's case
list, and the full CSV export read to its last byte (``bench/export_bench.py`` measures the
export's memory in a process of its own).
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
from django.test import Client  # noqa: E402

from cases.models import Case, Party  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    """Return the ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def timed(client: Client, url: str, params: dict, runs: int) -> tuple[list[float], int, int]:
    """Return the durations of ``runs`` GETs, the last status and the last body size."""
    durations, status, size = [], 0, 0
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url, params)
        if response.streaming:
            size = sum(len(chunk) for chunk in response.streaming_content)
        else:
            size = len(response.content)
        durations.append(time.perf_counter() - start)
        status = response.status_code
    return durations, status, size


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
    scenarios = [
        ("list, no filter", "/cases/", {}, args.runs),
        (
            "list, page 3 sorted by last change",
            "/cases/",
            {"ordering": "-updated_at", "page": 3},
            args.runs,
        ),
        ("list, name search q=리", "/cases/", {"q": "리"}, args.runs),
        ("list, analysts' question", "/cases/", question, args.runs),
        ("admin case list", "/admin/cases/case/", {}, args.runs),
        ("admin case list, search", "/admin/cases/case/", {"q": "Lee"}, args.runs),
        ("CSV export, all cases", "/cases/export.csv", {}, args.export_runs),
    ]
    failed = []
    for label, url, params, runs in scenarios:
        client.get(url, params)  # warm caches and connections
        durations, status, size = timed(client, url, params, runs)
        if status != 200:
            failed.append(f"{label}: HTTP {status}")
        print(
            f"{label:38} status {status}  runs {runs:3}  "
            f"median {statistics.median(durations) * 1000:9.1f} ms  "
            f"p95 {percentile(durations, 0.95) * 1000:9.1f} ms  "
            f"size {size / 1024:9.1f} KiB"
        )
    if failed:
        sys.exit("Failed: " + "; ".join(failed))


if __name__ == "__main__":
    main()
