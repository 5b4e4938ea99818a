"""Measure the change feed on PostgreSQL: a full sync from the start, and empty polls.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_feedbench \\
        .venv/bin/python bench/feed_bench.py --events 100000

The database named in DATABASE_URL is created and migrated when missing; it is a throwaway
benchmark database. To fill it quickly the script inserts TimelineEvent rows directly with
``bulk_create`` (in many small transactions, so the rows carry many transaction ids), past
the services: it only measures reading, and no other code may write that way. Requests go
through the real view with Django's test client, so the numbers include authentication,
filtering, serialisation and JSON rendering, but no HTTP server or network.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings_test")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from cases import feed  # noqa: E402
from cases.models import TimelineEvent  # noqa: E402

FEED = "/api/v1/events/"


def ensure_database() -> None:
    """Create the benchmark database when it does not exist, then migrate it."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("This benchmark measures PostgreSQL; set DATABASE_URL to a postgres:// URL.")
    admin = psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if exists.fetchone() is None:
            admin.execute(f'CREATE DATABASE "{db["NAME"]}"')
    call_command("migrate", verbosity=0)


def fill(target: int, per_transaction: int = 100) -> float:
    """Insert reference-data events until there are ``target``; return the seconds taken."""
    missing = target - TimelineEvent.objects.count()
    started = time.perf_counter()
    now = timezone.now()
    while missing > 0:
        batch = min(per_transaction, missing)
        with transaction.atomic():
            TimelineEvent.objects.bulk_create(
                TimelineEvent(
                    kind="source.created",
                    occurred_at=now,
                    actor_label="feed benchmark",
                    summary=f"Benchmark event {n}",
                    changes={"title": [None, f"Benchmark {n}"]},
                    subject_type="source",
                    subject_uuid=uuid.uuid4(),
                )
                for n in range(batch)
            )
        missing -= batch
    return time.perf_counter() - started


def wait_until_visible(total: int, timeout_s: float = 120.0) -> None:
    """Wait until the watermark has passed every inserted event (other sessions may lag it)."""
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        state = feed.read_state()
        visible = TimelineEvent.objects.filter(xact_id__lt=state.watermark).count()
        if visible >= total:
            return
        time.sleep(0.2)
    sys.exit("The watermark did not pass the inserted events; a long transaction is open.")


def client() -> APIClient:
    """Return a client signed in as a benchmark user."""
    from django.contrib.auth import get_user_model

    user, _created = get_user_model().objects.get_or_create(username="feed-benchmark")
    # A superuser holds every role the feed may ask for; roles are not what this measures.
    if not user.is_superuser:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    api = APIClient(SERVER_NAME="localhost")
    api.force_authenticate(user)
    return api


def full_sync(api: APIClient, limit: int) -> tuple[int, int, float, str]:
    """Pull the whole feed from the start; return events, pages, seconds and the cursor."""
    events = pages = 0
    cursor = None
    started = time.perf_counter()
    while True:
        params = {"limit": limit} | ({"after": cursor} if cursor else {})
        response = api.get(FEED, params)
        assert response.status_code == 200, response.content
        data = response.json()
        events += len(data["results"])
        pages += 1
        cursor = data["next_cursor"]
        if not data["has_more"]:
            return events, pages, time.perf_counter() - started, cursor


def polls(api: APIClient, cursor: str, count: int, *, etag: str | None) -> list[float]:
    """Time ``count`` empty polls at ``cursor``; return their durations in milliseconds."""
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    expected = 304 if etag else 200
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        response = api.get(FEED, {"after": cursor}, **headers)
        durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expected, response.status_code
    return durations


def p95(values: list[float]) -> float:
    """Return the 95th percentile of ``values``."""
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    """Fill the database, run the measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()

    ensure_database()
    fill_seconds = fill(args.events)
    total = TimelineEvent.objects.count()
    wait_until_visible(total)
    api = client()

    api.get(FEED, {"limit": 1})  # warm up connections and caches
    events, pages, seconds, cursor = full_sync(api, args.limit)
    etag = api.get(FEED, {"after": cursor})["ETag"]
    plain = polls(api, cursor, args.polls, etag=None)
    not_modified = polls(api, cursor, args.polls, etag=etag)

    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(" on ")[0]
    rows = [
        ("database", f"{settings.DATABASES['default']['NAME']} ({version})"),
        ("events in the table", f"{total:,} (filled in {fill_seconds:.1f} s)"),
        ("full sync from the start", f"{events:,} events, {pages} pages of {args.limit}"),
        ("full sync time", f"{seconds:.2f} s"),
        ("full sync rate", f"{events / seconds:,.0f} events/s"),
        (
            f"empty poll, 200 ({args.polls}x)",
            f"median {statistics.median(plain):.2f} ms, p95 {p95(plain):.2f} ms",
        ),
        (
            f"empty poll, 304 ({args.polls}x)",
            f"median {statistics.median(not_modified):.2f} ms, p95 {p95(not_modified):.2f} ms",
        ),
    ]
    width = max(len(name) for name, _value in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
