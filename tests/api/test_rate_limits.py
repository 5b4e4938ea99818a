"""Rate limits counted where every server process sees them: the database's table by default.

The suite's own settings keep the counters in memory (the query counts asserted elsewhere
would otherwise include the counters' statements); these tests put the counters where a
deployment does, in the database's table (and, for the headers, in a ``ratelimit`` cache as
Redis would hold them), and prove that concurrent threads and two processes count on one
counter without losing a request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cases.api import counters, throttling
from cases.models import RateLimitCounter
from cases.security.tokens import ApiToken
from tests.support.clients import token_client
from tests.support.roles import CASE_OFFICER, user_in_role

ROOT = Path(__file__).resolve().parents[2]
CASES = "/api/v1/cases/"
LOCAL_CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
#: Where the counters are kept: the database's table (no "ratelimit" cache), or a cache.
STORES = {
    "table": {"default": LOCAL_CACHE},
    "cache": {"default": LOCAL_CACHE, "ratelimit": {**LOCAL_CACHE, "LOCATION": "ratelimit"}},
}
COUNTER_TABLE = RateLimitCounter._meta.db_table


def rates(**scopes):
    """Return settings with the throttle rates ``scopes`` (the store comes from ``counted_in``)."""
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"anon": None, "read": None, "write": None, **scopes},
        },
    )


@pytest.fixture(autouse=True)
def _no_purge_meanwhile(monkeypatch):
    """Keep the periodic purge out of the statements these tests count."""
    monkeypatch.setattr(counters, "_next_purge", time.monotonic() + 3600)


@pytest.fixture(params=sorted(STORES))
def counted_in(request, db):
    """Each store in turn, empty: the database's table, then a ``ratelimit`` cache."""
    with override_settings(CACHES=STORES[request.param]):
        for alias in STORES[request.param]:
            caches[alias].clear()
        assert counters.uses_cache() == (request.param == "cache")
        yield request.param
        for alias in STORES[request.param]:
            caches[alias].clear()


@pytest.fixture
def counter_table(db):
    """The counters in the database's table, which starts empty."""
    with override_settings(CACHES=STORES["table"]):
        assert not counters.uses_cache()
        RateLimitCounter.objects.all().delete()
        yield


@pytest.fixture
def officer(db):
    """A case officer."""
    return user_in_role(CASE_OFFICER, "limits-officer")


def policy(response) -> str:
    """Return the RateLimit-Policy header."""
    return response["RateLimit-Policy"]


def remaining(response, scope: str = "read") -> int:
    """Return ``r`` of ``scope`` in the RateLimit header."""
    for item in response["RateLimit"].split(", "):
        name, *params = item.split(";")
        if name == f'"{scope}"':
            return int(dict(p.split("=") for p in params)["r"])
    raise AssertionError(response["RateLimit"])


@rates(read="5/minute")
def test_reads_report_the_policy_and_what_is_left(counted_in, officer, monkeypatch):
    """Each read says its policy and how many reads are left in the window."""
    # The five reads fall in one window: a slow machine would otherwise cross a minute's
    # edge between two of them, and the count would start again.
    start_of_window = time.time() // 60 * 60 + 1
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: start_of_window))
    client, _ = token_client(officer)
    answers = [client.get(CASES) for _ in range(5)]
    assert all(a.status_code == 200 for a in answers)
    assert policy(answers[0]) == '"read";q=5;w=60'
    assert [remaining(a) for a in answers] == [4, 3, 2, 1, 0]
    t = int(answers[-1]["RateLimit"].rsplit("t=", 1)[1])
    assert 1 <= t <= 60


@rates(read="2/minute")
def test_over_the_limit_is_a_429_problem_with_retry_after(counted_in, officer):
    """The third read is throttled: a problem, Retry-After, and r=0."""
    client, _ = token_client(officer)
    client.get(CASES)
    client.get(CASES)
    refused = client.get(CASES)
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert remaining(refused) == 0 and policy(refused) == '"read";q=2;w=60'


@rates(read="3/minute", write="2/minute")
def test_writes_report_their_own_policy(counted_in, officer):
    """A write is counted against the write policy only."""
    client, _ = token_client(officer)
    write = client.post("/api/v1/parties/", {}, format="json")
    assert write.status_code == 400
    assert policy(write) == '"write";q=2;w=60' and remaining(write, "write") == 1
    assert remaining(client.get(CASES)) == 2


@rates(anon="3/minute")
def test_anonymous_callers_see_the_anon_policy(counted_in):
    """A caller without credentials is counted by address and told so on its 401."""
    response = APIClient().get(CASES, REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 401
    assert policy(response) == '"anon";q=3;w=60' and remaining(response, "anon") == 2


@rates(read="3/minute")
def test_a_304_does_not_count_against_the_read_limit(counted_in, officer):
    """Polling a list with its ETag while nothing changes leaves the read allowance as it was."""
    client, _ = token_client(officer)
    first = client.get(CASES)
    assert remaining(first) == 2
    for _ in range(10):
        poll = client.get(CASES, HTTP_IF_NONE_MATCH=first["ETag"])
        assert poll.status_code == 304
        assert remaining(poll) == 2
    feed = client.get("/api/v1/events/")
    assert remaining(feed) == 1
    for _ in range(5):
        poll = client.get("/api/v1/events/", HTTP_IF_NONE_MATCH=feed["ETag"])
        assert poll.status_code == 304
    assert remaining(client.get(CASES)) == 0


def test_a_counter_counts_its_window_and_restarts_at_one_in_the_next(counter_table):
    """One row per key: counted up within a window, back to one when a later window begins.

    A request computed against an older window than the row's (a slow process) is counted in
    the row's window, never moving it back.
    """
    end = 1_900_000_020
    assert [counters.add("k", window_end=end, window=60).used for _ in range(3)] == [1, 2, 3]
    later = counters.add("k", window_end=end + 60, window=60)
    assert (later.used, later.window_end) == (1, end + 60)
    stale = counters.add("k", window_end=end, window=60)
    assert (stale.used, stale.window_end) == (2, end + 60)
    assert counters.add("other", window_end=end, window=60).used == 1
    rows = RateLimitCounter.objects.order_by("key").values_list("key", "window_end", "count")
    assert list(rows) == [("k", end + 60, 2), ("other", end, 1)]


def test_a_request_is_counted_with_one_statement_and_given_back_with_one(counter_table):
    """Counting is one statement in autocommit; the 304's give-back another, on its window."""
    end = 1_900_000_020
    with CaptureQueriesContext(connection) as counted:
        assert counters.add("k", window_end=end, window=60).used == 1
        assert counters.add("k", window_end=end, window=60).used == 2
    assert len(counted) == 2
    assert all(COUNTER_TABLE in q["sql"] and "ON CONFLICT" in q["sql"] for q in counted)
    assert not any(q["sql"].upper().startswith(("BEGIN", "SAVEPOINT")) for q in counted)
    with CaptureQueriesContext(connection) as given:
        assert counters.give_back("k", window_end=end) == 1
        assert counters.give_back("k", window_end=end - 60) is None  # that window is over
    assert len(given) == 2
    counters.add("k", window_end=end + 60, window=60)
    assert counters.give_back("k", window_end=end) is None
    assert RateLimitCounter.objects.get(key="k").count == 1


@rates(read="5/minute")
def test_a_throttled_request_runs_one_counter_statement(counter_table, officer):
    """A counted read adds one statement on the counters' table; a 304 one more, to give back."""
    client, _ = token_client(officer)
    first = client.get("/api/v1/events/")
    with CaptureQueriesContext(connection) as read:
        assert client.get("/api/v1/events/").status_code == 200
    with CaptureQueriesContext(connection) as not_modified:
        poll = client.get("/api/v1/events/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert poll.status_code == 304
    on_table = [q["sql"] for q in read if COUNTER_TABLE in q["sql"]]
    assert len(on_table) == 1 and "ON CONFLICT" in on_table[0]
    given = [q["sql"] for q in not_modified if COUNTER_TABLE in q["sql"]]
    assert len(given) == 2 and given[1].startswith("UPDATE")


@rates(read="5/minute")
def test_the_table_adds_exactly_one_query_to_a_request(officer, db):
    """The same read costs one query more with the table than with counters in memory."""
    client, _ = token_client(officer)
    counts = {}
    for store in ("cache", "table"):
        with override_settings(CACHES=STORES[store]):
            client.get(CASES)  # the token and the count are kept after a first read
            with CaptureQueriesContext(connection) as queries:
                assert client.get(CASES).status_code == 200
            counts[store] = len(queries)
    assert counts["table"] == counts["cache"] + 1


@rates(read="2/minute")
def test_a_changed_rate_starts_a_counter_of_its_own(counter_table, officer):
    """A new window length is counted apart: a token at 2/minute is not held to a day's window."""
    client, _ = token_client(officer)
    client.get(CASES)
    client.get(CASES)
    assert client.get(CASES).status_code == 429
    with rates(read="5/hour"):
        allowed = client.get(CASES)
    assert allowed.status_code == 200 and remaining(allowed) == 4


def test_the_purge_deletes_only_ended_windows(counter_table):
    """Rows whose window has ended go; the current ones stay. A process purges now and then."""
    now = 1_900_000_000
    counters.add("ended", window_end=now - 1, window=60)
    counters.add("ends-now", window_end=now, window=60)
    counters.add("current", window_end=now + 30, window=60)
    assert counters.purge_ended_windows(now=now) == 2
    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["current"]


def test_a_process_purges_when_its_interval_has_passed(counter_table, monkeypatch):
    """The first count after the interval deletes the ended rows and sets the next purge."""
    counters.add("ended", window_end=int(time.time()) - 5, window=60)
    monkeypatch.setattr(counters, "_next_purge", time.monotonic() - 1)
    with CaptureQueriesContext(connection) as queries:
        counters.add("current", window_end=int(time.time()) + 60, window=60)
    assert [q["sql"].split()[0] for q in queries] == ["INSERT", "DELETE"]
    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["current"]
    assert counters._next_purge > time.monotonic() + counters.PURGE_SECONDS - 5
    with CaptureQueriesContext(connection) as queries:
        counters.add("current", window_end=int(time.time()) + 60, window=60)
    assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_threads_lose_no_increment():
    """Eight threads adding to one counter at once, each on its own connection, lose nothing.

    Every increment returns a distinct count and the row ends at the total: a read-then-write
    counter would return some count twice and end lower.
    """
    threads, each = 8, 25
    end = int(time.time()) + 3600
    seen: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work():
        try:
            start.wait()
            with override_settings(CACHES=STORES["table"]):
                for _ in range(each):
                    seen.append(counters.add("shared", window_end=end, window=3600).used)
        except BaseException as error:  # noqa: BLE001 (reported by the asserting thread)
            errors.append(error)
        finally:
            connections.close_all()

    with override_settings(CACHES=STORES["table"]):
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    assert errors == []
    assert sorted(seen) == list(range(1, threads * each + 1))
    assert RateLimitCounter.objects.get(key="shared").count == threads * each


def _database_url() -> str:
    """Return a DATABASE_URL naming the test database this process uses."""
    named = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{named['NAME']}"
    password = f":{named['PASSWORD']}" if named.get("PASSWORD") else ""
    return (
        f"postgres://{named['USER']}{password}@{named['HOST'] or '127.0.0.1'}:"
        f"{named['PORT'] or 5432}/{named['NAME']}"
    )


#: One server process: Django set up against the test database, reading the case list
#: with the token ``KEY`` through Django's handler, N times; it prints each status.
READER = """
import json, os, sys
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="localhost")
key, count = sys.argv[1], int(sys.argv[2])
statuses = [
    client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {key}").status_code
    for _ in range(count)
]
print(json.dumps(statuses))
"""


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_counter(officer):
    """Two Django processes reading at once with one token get exactly the quota between them.

    Per-process counters would let each process serve its own quota (ten reads each here);
    the database's counter lets ten through in all, refuses the rest and counts all sixteen.
    """
    RateLimitCounter.objects.all().delete()
    _token, key = ApiToken.issue(user=officer, name="two processes")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tracker.settings_test",
        "DATABASE_URL": _database_url(),
        "DJANGO_CACHE_URL": "db://",
        # A day's window: a minute's could turn over while the processes run.
        "DJANGO_API_RATE_READ": "10/day",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_REQUEST_LOG": "0",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", READER, key, "8"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    statuses = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        statuses.extend(json.loads(out.strip().splitlines()[-1]))
    assert sorted(statuses) == [200] * 10 + [429] * 6
    (counter,) = RateLimitCounter.objects.all()
    assert counter.count == 16


@pytest.mark.django_db
def test_the_counters_table_is_unlogged_on_postgresql():
    """On PostgreSQL the counters skip the write-ahead log, so counting flushes nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("UNLOGGED is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [COUNTER_TABLE])
        assert cursor.fetchone() == ("u",)
