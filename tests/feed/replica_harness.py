"""Run the feed's concurrency harness with the feed read from a hot standby.

Run as ``python -m tests.feed.replica_harness EVENTS SEED`` with ``DATABASE_URL`` naming the
primary and ``DATABASE_REPLICA_URL`` its standby (``tests/feed/test_feed_replica.py`` does).
Writers commit through the services on the primary while a follower drains
``/api/v1/events/`` through the API, which reads from the standby. The last line printed is
a JSON summary: what the follower received against what was committed, the ``Replica-Lag``
header of every page, and whether the cursors only moved forward.
"""

from __future__ import annotations

import base64
import json
import os
import random
import sys
import time
import traceback

import django
import psycopg

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings_test")
django.setup()

from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from cases.feed import cursor as feed_cursor  # noqa: E402
from cases.feed.views import REPLICA_LAG_HEADER  # noqa: E402
from tests import factories  # noqa: E402
from tests.feed.test_feed_concurrency import (  # noqa: E402
    FEED,
    PAGE,
    assert_exactly_once,
    run_harness,
)
from tracker import db_routers  # noqa: E402

pages: list[dict] = []


def _position(token: str) -> tuple[int, int]:
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return payload["x"], payload["i"]


def standby_poll_factory():
    """Return a poll function that follows the feed view and records each page's headers."""
    client = APIClient()
    client.force_authenticate(
        factories.user(f"follower{random.randrange(10**9)}", is_superuser=True)
    )

    def poll(cursor):
        params = {"limit": PAGE} | ({"after": cursor} if cursor else {})
        response = client.get(FEED, params)
        assert response.status_code == 200, response.content
        results = response.data["results"]
        pages.append(
            {
                "events": len(results),
                "lag": response.headers.get(REPLICA_LAG_HEADER),
                "next": _position(response.data["next_cursor"]),
            }
        )
        page = [
            (
                event["uuid"],
                event["subject_uuid"],
                event["case"]["uuid"] if event["case"] else None,
                event["case_seq"],
            )
            for event in results
        ]
        return page, response.data["next_cursor"]

    return poll


def _get(client, path: str, params: dict | None = None) -> dict:
    response = client.get(path, params or {})
    body = response.json() if response.status_code == 200 else {}
    return {
        "status": response.status_code,
        "lag": response.headers.get(REPLICA_LAG_HEADER),
        "results": len(body.get("results", [])),
        "next_cursor": body.get("next_cursor"),
    }


def _page_after_losing_the_replica(client) -> dict:
    """Return the answer when the replica's connection dies between the state and the page.

    The replica's server process serving the feed is terminated (on the standby, for real)
    just before the page query runs on it.
    """
    real_feed_page = feed_cursor.feed_page
    terminated = []

    def feed_page_on_a_lost_replica(queryset, **kwargs):
        if queryset.db == "replica" and not terminated:
            with connections["replica"].cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            standby = connections["replica"].settings_dict
            url = f"postgres://postgres@{standby['HOST']}:{standby['PORT']}/postgres"
            with psycopg.connect(url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            terminated.append(pid)
        return real_feed_page(queryset, **kwargs)

    db_routers._replica_retry_at = 0.0
    feed_cursor.feed_page = feed_page_on_a_lost_replica
    try:
        answer = _get(client, FEED, {"limit": PAGE})
    finally:
        feed_cursor.feed_page = real_feed_page
        connections["replica"].close()
    answer["replica_backend_terminated"] = bool(terminated)
    answer.pop("next_cursor")
    return answer


def fallbacks() -> dict:
    """Return what the feed answers while the standby is paused, and while it is down.

    With replay paused on the standby, a case is opened on the primary: a cursor at the
    primary's head is ahead of the standby, and the standby lacks the case. The primary
    serves both (no lag header), and a page the standby serves says how far behind it is.
    With the replica unreachable, the primary serves the feed and /healthz stays healthy.
    """
    client = APIClient()
    client.force_authenticate(factories.user("fallback-reader", is_superuser=True))
    replica = connections["replica"]
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        case = factories.case()
        time.sleep(1.0)
        state = feed_cursor.read_state(connections["default"])
        ahead = feed_cursor.encode_cursor(state, state.head)
        answers = {
            "ahead_of_standby": _get(client, FEED, {"after": ahead, "limit": PAGE}),
            "from_paused_standby": _get(client, FEED, {"limit": 1}),
            "timeline_of_a_case_the_standby_lacks": _get(
                client, f"/api/v1/cases/{case.uuid}/timeline/"
            ),
        }
        answers["ahead_of_standby"]["same_cursor_back"] = (
            answers["ahead_of_standby"].pop("next_cursor") == ahead
        )
    finally:
        with replica.cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    answers["replica_lost_before_the_page"] = _page_after_losing_the_replica(client)
    db_routers._replica_retry_at = 0.0  # Forget the failure: the next scenario makes its own.
    replica.close()
    port = replica.settings_dict["PORT"]
    replica.settings_dict["PORT"] = 1  # Nothing listens there: the replica is down.
    try:
        answers["replica_down"] = _get(client, FEED, {"limit": PAGE})
        health = Client().get("/healthz")
        answers["health_replica_down"] = [health.status_code, health.json().get("replica")]
    finally:
        replica.close()
        replica.settings_dict["PORT"] = port
    return answers


def main(events: int, seed: int) -> dict:
    """Run the harness; return the summary."""
    setup_test_environment()
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        replica_in_recovery = cursor.fetchone()[0]
    outcome, committed = run_harness(standby_poll_factory, events=events, seed=seed, wait_all=True)
    try:
        assert_exactly_once(outcome, committed)
        exactly_once = None
    except AssertionError as exc:
        exactly_once = str(exc) or traceback.format_exc()
    health = Client().get("/healthz").json()
    served = [uuid for uuid, _subject, _case, _seq in outcome.served]
    positions = [tuple(page["next"]) for page in pages]
    lags = [page["lag"] for page in pages]
    return {
        "replica_in_recovery": replica_in_recovery,
        "health_replica": health.get("replica"),
        "fallbacks": fallbacks(),
        "committed": len(committed),
        "committed_notes": len(outcome.committed_notes),
        "rolled_back_notes": len(outcome.rolled_back_notes),
        "served": len(served),
        "served_distinct": len(set(served)),
        "missed": len(set(committed) - set(served)),
        "extra": len(set(served) - set(committed)),
        "exactly_once_failure": exactly_once,
        "pages": len(pages),
        "pages_without_lag": sum(1 for lag in lags if lag is None),
        "lags_reported": sum(1 for lag in lags if lag is not None),
        "min_lag": min((float(lag) for lag in lags if lag is not None), default=None),
        "max_lag": max((float(lag) for lag in lags if lag is not None), default=None),
        "cursors_forward": all(a <= b for a, b in zip(positions, positions[1:], strict=False)),
        "cursor_moved_on_every_nonempty_page": all(
            page["events"] == 0 or i == 0 or tuple(page["next"]) > positions[i - 1]
            for i, page in enumerate(pages)
        ),
    }


if __name__ == "__main__":
    summary = main(int(sys.argv[1]), int(sys.argv[2]))
    print(json.dumps(summary))
