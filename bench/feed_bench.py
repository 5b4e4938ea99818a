"""Measure the change feed on PostgreSQL: a full sync from the start, and empty polls.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
    DJANGO_SETTINGS_MODULE=tracker.settings_test DJANGO_LOG_LEVEL=WARNING \\
        .venv/bin/python bench/feed_bench.py --limit 1000 --reader integration

The database named in DATABASE_URL is created and migrated when missing. When it holds
fewer than ``--events`` events, the script tops it up by inserting TimelineEvent rows
directly with ``bulk_create`` (in many small transactions, so the rows carry many
transaction ids), past the services: it only measures reading, and no other code may write
that way. On a seeded database (``manage.py seed_demo``) leave ``--events`` at 0.

The client is what an integration is: a user in the ``--reader`` role (``integration``
sees sensitive values withheld; ``officer`` sees them, and each page then appends to the
access log) calling with an API token (``Authorization: Token KEY``), so authentication,
permissions, throttling, the feed's queries, redaction and rendering are all measured.
Requests go through Django's test client in this process (no HTTP server, no network),
or, with ``--url``, to a running server over HTTP with keep-alive (start one with, for
example, ``.venv/bin/gunicorn tracker.wsgi -b 127.0.0.1:8801 -w 2``, same DATABASE_URL).

The full sync reports two rates: the requests alone, and the requests with the client's
JSON parsing of every page (what a real client also pays). With the test client it also
reports the CPU time per event of this process (the server's Python work, the client's
parsing apart) and of the PostgreSQL backend serving it (read from ``/proc``, so only when
the database runs on this machine): unlike wall time, that hardly changes when other
programs load the machine, and it bounds the rate on an otherwise idle one. Query counts
come from the test client's connection.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings_test")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from cases.feed import cursor as feed  # noqa: E402
from cases.models import TimelineEvent  # noqa: E402
from cases.security.tokens import ApiToken  # noqa: E402
from tracker.db_routers import replica_alias  # noqa: E402

FEED = "/api/v1/events/"
ROLES = {"integration": "integration", "officer": "case officer"}


def feed_alias() -> str:
    """Return the database the feed reads from: the replica when one is configured."""
    return replica_alias() or DEFAULT_DB_ALIAS


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
    missing = target - TimelineEvent.objects.count() if target else 0
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


def wait_until_visible(timeout_s: float = 120.0) -> int:
    """Wait until the watermark has passed every event (other sessions may lag it)."""
    total = TimelineEvent.objects.count()
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        state = feed.read_state()
        if TimelineEvent.objects.filter(xact_id__lt=state.watermark).count() >= total:
            return total
        time.sleep(0.2)
    sys.exit("The watermark did not pass the events; a long transaction is open.")


def token_key(reader: str) -> str:
    """Return a new API token's key for a benchmark user in the ``reader`` role."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from cases.security.access import ensure_roles

    user, _created = get_user_model().objects.get_or_create(username=f"feed-benchmark-{reader}")
    if reader == "superuser":
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    else:
        ensure_roles()
        user.groups.set([Group.objects.get(name=ROLES[reader])])
    _token, key = ApiToken.issue(user=user, name="feed benchmark", read_only=True)
    return key


class TestClientGet:
    """GET through Django's test client, with the token."""

    def __init__(self, key: str):
        self.client = APIClient(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Token {key}")

    def __call__(self, params: dict, etag: str | None = None) -> tuple[int, bytes, str]:
        headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
        response = self.client.get(FEED, params, **headers)
        return response.status_code, response.content, response.get("ETag", "")


class HttpGet:
    """GET over HTTP/1.1 with keep-alive, with the token."""

    def __init__(self, key: str, url: str):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port or 80)
        self.path = parts.path.rstrip("/") + FEED
        self.headers = {"Authorization": f"Token {key}", "Host": "localhost"}

    def __call__(self, params: dict, etag: str | None = None) -> tuple[int, bytes, str]:
        headers = self.headers | ({"If-None-Match": etag} if etag else {})
        self.connection.request("GET", f"{self.path}?{urlencode(params)}", headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read(), response.getheader("ETag") or ""


class BackendCpu:
    """CPU seconds used so far by the PostgreSQL backend the feed reads from, if readable.

    That is the replica's when ``DATABASE_REPLICA_URL`` names one (the feed reads there).
    """

    def __init__(self):
        with connections[feed_alias()].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.path = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        self.tick = os.sysconf("SC_CLK_TCK")

    def __call__(self) -> float | None:
        try:
            fields = self.path.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None  # the database runs elsewhere
        return (int(fields[11]) + int(fields[12])) / self.tick


def full_sync(get, limit: int, max_events: int) -> dict:
    """Pull the feed from the start; return counts, times and the last cursor."""
    events = pages = size = 0
    requests = parsing = parsing_cpu = 0.0
    cursor = None
    backend_cpu = BackendCpu()
    cpu_before, backend_before = time.process_time(), backend_cpu()
    while True:
        params = {"limit": limit} | ({"after": cursor} if cursor else {})
        started = time.perf_counter()
        status, content, _etag = get(params)
        middle, middle_cpu = time.perf_counter(), time.process_time()
        assert status == 200, content[:500]
        data = json.loads(content)
        parsing += time.perf_counter() - middle
        parsing_cpu += time.process_time() - middle_cpu
        requests += middle - started
        events += len(data["results"])
        size += len(content)
        pages += 1
        cursor = data["next_cursor"]
        if not data["has_more"] or (max_events and events >= max_events):
            backend_after = backend_cpu()
            return {
                "events": events,
                "pages": pages,
                "bytes": size,
                "requests": requests,
                "parsing": parsing,
                "cursor": cursor,
                "process_cpu": time.process_time() - cpu_before - parsing_cpu,
                "parsing_cpu": parsing_cpu,
                "backend_cpu": (None if backend_before is None else backend_after - backend_before),
            }


def polls(get, cursor: str, count: int, *, etag: str | None) -> list[float]:
    """Time ``count`` empty polls at ``cursor``; return their durations in milliseconds."""
    expected = 304 if etag else 200
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        status, content, _etag = get({"after": cursor}, etag)
        durations.append((time.perf_counter() - started) * 1000)
        assert status == expected, (status, content[:500])
    return durations


def count_queries(get, params: dict, etag: str | None = None) -> int:
    """Return how many queries one request makes on the primary and the replica (test client)."""
    with (
        CaptureQueriesContext(connection) as queries,
        CaptureQueriesContext(connections[feed_alias()]) as feed_queries,
    ):
        get(params, etag)
    if feed_alias() == DEFAULT_DB_ALIAS:
        return len(queries)
    return len(queries) + len(feed_queries)


def p95(values: list[float]) -> float:
    """Return the 95th percentile of ``values``."""
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    """Fill the database if asked, run the measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=0, help="top the table up to this many")
    parser.add_argument("--limit", type=int, default=1000, help="events per page")
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument(
        "--reader", choices=["integration", "officer", "superuser"], default="integration"
    )
    parser.add_argument("--max-events", type=int, default=0, help="stop the sync after this many")
    parser.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8801")
    args = parser.parse_args()

    ensure_database()
    fill_seconds = fill(args.events)
    total = wait_until_visible()
    key = token_key(args.reader)
    get = HttpGet(key, args.url) if args.url else TestClientGet(key)

    get({"limit": 1})  # warm up connections and caches
    sync = full_sync(get, args.limit, args.max_events)
    cursor = sync["cursor"]
    if args.max_events:
        # The sync stopped early: poll at the head of the feed, where a synced client waits.
        state = feed.read_state()
        cursor = feed.encode_cursor(state, state.head)
    status, _content, etag = get({"after": cursor})
    assert status == 200
    plain = polls(get, cursor, args.polls, etag=None)
    not_modified = polls(get, cursor, args.polls, etag=etag)

    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(" on ")[0]
    events, seconds = sync["events"], sync["requests"] + sync["parsing"]
    rows = [
        ("database", f"{settings.DATABASES['default']['NAME']} ({version})"),
        ("feed read from", "the replica" if feed_alias() != DEFAULT_DB_ALIAS else "the primary"),
        (
            "events in the table",
            f"{total:,}" + (f" (filled in {fill_seconds:.1f} s)" if args.events else ""),
        ),
        (
            "client",
            f"{'HTTP ' + args.url if args.url else 'test client'}, token of a {args.reader} reader",
        ),
        (
            "full sync from the start",
            f"{events:,} events, {sync['pages']} pages of {args.limit}, "
            f"{sync['bytes'] / 1e6:,.0f} MB",
        ),
        (
            "full sync time",
            f"{seconds:.2f} s ({sync['requests']:.2f} s requests, "
            f"{sync['parsing']:.2f} s client JSON parsing)",
        ),
        (
            "full sync rate",
            f"{events / seconds:,.0f} events/s with parsing, "
            f"{events / sync['requests']:,.0f} events/s requests alone",
        ),
        (
            f"empty poll, 200 ({args.polls}x)",
            f"median {statistics.median(plain):.2f} ms, p95 {p95(plain):.2f} ms",
        ),
        (
            f"empty poll, 304 ({args.polls}x)",
            f"median {statistics.median(not_modified):.2f} ms, p95 {p95(not_modified):.2f} ms",
        ),
    ]
    if not args.url and sync["backend_cpu"] is not None:
        server_us = (sync["process_cpu"] + sync["backend_cpu"]) / events * 1e6
        parse_us = sync["parsing_cpu"] / events * 1e6
        rows.append(
            (
                "CPU per event",
                f"Python {sync['process_cpu'] / events * 1e6:.1f} us, PostgreSQL "
                f"{sync['backend_cpu'] / events * 1e6:.1f} us, client parsing {parse_us:.1f} us",
            )
        )
        rows.append(
            (
                "rate the CPU time allows",
                f"{1e6 / server_us:,.0f} events/s requests alone, "
                f"{1e6 / (server_us + parse_us):,.0f} events/s with parsing",
            )
        )
    if not args.url:
        page = count_queries(get, {"limit": args.limit})
        empty = count_queries(get, {"after": cursor})
        cached = count_queries(get, {"after": cursor}, etag)
        rows.append(("queries per request", f"full page {page}, empty poll {empty}, 304 {cached}"))
    width = max(len(name) for name, _value in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
