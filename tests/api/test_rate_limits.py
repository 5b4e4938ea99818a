"""Rate limits counted in the shared cache: the database cache by default.

The suite's own settings keep the counters in memory (the query counts asserted elsewhere
would otherwise include the counters' queries); these tests put the counters where a deployment
does, in the database cache, and prove that two processes count on one counter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from cases.api import throttling
from cases.security.tokens import ApiToken
from tests.support.clients import token_client
from tests.support.roles import CASE_OFFICER, user_in_role

ROOT = Path(__file__).resolve().parents[2]
CASES = "/api/v1/cases/"
DATABASE_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": {
        "BACKEND": "tracker.cache.DatabaseCache",
        "LOCATION": "tracker_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    },
}


def rates(**scopes):
    """Return settings with the database cache and the throttle rates ``scopes``."""
    return override_settings(
        CACHES=DATABASE_CACHE,
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"anon": None, "read": None, "write": None, **scopes},
        },
    )


@pytest.fixture
def database_cache(db):
    """The database cache's table, empty."""
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable", verbosity=0)
        caches["ratelimit"].clear()
        yield
        caches["ratelimit"].clear()


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
def test_reads_report_the_policy_and_what_is_left(database_cache, officer):
    """Each read says its policy and how many reads are left in the window."""
    client, _ = token_client(officer)
    answers = [client.get(CASES) for _ in range(5)]
    assert all(a.status_code == 200 for a in answers)
    assert policy(answers[0]) == '"read";q=5;w=60'
    assert [remaining(a) for a in answers] == [4, 3, 2, 1, 0]
    t = int(answers[-1]["RateLimit"].rsplit("t=", 1)[1])
    assert 1 <= t <= 60


@rates(read="2/minute")
def test_over_the_limit_is_a_429_problem_with_retry_after(database_cache, officer):
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
def test_writes_report_their_own_policy(database_cache, officer):
    """A write is counted against the write policy only."""
    client, _ = token_client(officer)
    write = client.post("/api/v1/parties/", {}, format="json")
    assert write.status_code == 400
    assert policy(write) == '"write";q=2;w=60' and remaining(write, "write") == 1
    assert remaining(client.get(CASES)) == 2


@rates(anon="3/minute")
def test_anonymous_callers_see_the_anon_policy(database_cache):
    """A caller without credentials is counted by address and told so on its 401."""
    response = APIClient().get(CASES, REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 401
    assert policy(response) == '"anon";q=3;w=60' and remaining(response, "anon") == 2


@rates(read="3/minute")
def test_a_304_does_not_count_against_the_read_limit(database_cache, officer):
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


def test_the_database_counter_increments_atomically(database_cache):
    """incr on the database cache adds to the stored value; a missing key is a ValueError."""
    cache = caches["ratelimit"]
    with pytest.raises(ValueError):
        cache.incr("ratelimit:test:absent")
    assert throttling.count("ratelimit:test:k", 60) == 1
    assert throttling.count("ratelimit:test:k", 60) == 2
    assert cache.decr("ratelimit:test:k") == 1
    assert cache.get("ratelimit:test:k") == 1


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
    the shared database cache lets ten through in all and refuses the rest.
    """
    with override_settings(CACHES=DATABASE_CACHE):
        call_command("createcachetable", verbosity=0)
        caches["ratelimit"].clear()
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
    with override_settings(CACHES=DATABASE_CACHE):
        caches["ratelimit"].clear()
