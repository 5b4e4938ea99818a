"""The feed read from a hot standby: every committed event exactly once, and the lag reported.

A primary and its streaming standby are built for the test (tests/support/replication.py),
the primary is migrated, and the concurrency harness of test_feed_concurrency.py runs in a
process whose settings name the primary (``DATABASE_URL``) and the standby
(``DATABASE_REPLICA_URL``): writers commit through the services on the primary, out of order,
some rolling back, while a follower drains ``/api/v1/events/`` through the API, which reads
from the standby.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import connection

from tests.support import replication

EVENTS = 1200

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a streaming replica is PostgreSQL's; this runs in the PostgreSQL run",
    ),
]


def test_feed_from_a_hot_standby_serves_each_committed_event_once_and_reports_its_lag():
    """Writers on the primary, a follower on the standby: none missed, none twice, lag shown."""
    reason = replication.missing_reason()
    if reason:
        pytest.skip(reason)
    with replication.primary_and_standby() as pair:
        env = replication.tracker_on(pair)
        harness = replication.run_python(
            ["-m", "tests.feed.replica_harness", str(EVENTS), "3"], env, timeout=180
        )
        assert harness.returncode == 0, harness.stderr[-4000:]
        summary = json.loads(harness.stdout.strip().splitlines()[-1])
        print(summary)  # Shown with -s: the run's numbers, the lag among them.

        with psycopg.connect(pair.primary_url("postgres"), autocommit=True) as primary:
            replication_state = primary.execute("SELECT state FROM pg_stat_replication").fetchone()

    assert summary["replica_in_recovery"] is True, "the replica alias must be the standby"
    assert replication_state == ("streaming",)
    assert summary["committed_notes"] >= EVENTS
    assert summary["rolled_back_notes"] > 0, "the harness should have rolled some back"
    assert summary["exactly_once_failure"] is None, summary
    assert summary["served"] == summary["served_distinct"] == summary["committed"]
    assert summary["missed"] == summary["extra"] == 0
    assert summary["cursors_forward"] and summary["cursor_moved_on_every_nonempty_page"]
    # Every page came from the standby, and said how far behind the primary it was.
    assert summary["pages"] > summary["committed"] // 7
    assert summary["pages_without_lag"] == 0, summary
    assert summary["lags_reported"] == summary["pages"]
    assert 0 <= summary["min_lag"] <= summary["max_lag"] < 60
    _assert_fallbacks(summary["fallbacks"])
    # /healthz says the same of the standby, with the WAL it has yet to replay.
    health = summary["health_replica"]
    assert health["status"] == "ok", health
    assert 0 <= health["lag_seconds"] < 60 and health["lag_bytes"] >= 0


def _assert_fallbacks(answers: dict) -> None:
    """What the primary serves when the standby is behind or down."""
    # A cursor from the primary, ahead of the paused standby: not 410, the primary serves it.
    ahead = answers["ahead_of_standby"]
    assert ahead == {"status": 200, "lag": None, "results": 0, "same_cursor_back": True}
    # The paused standby still serves a page, and says it is at least the pause behind.
    paused = answers["from_paused_standby"]
    assert paused["status"] == 200 and paused["results"] == 1
    assert float(paused["lag"]) >= 1.0
    # A case the standby has not seen yet: its timeline from the primary, not a 404.
    timeline = answers["timeline_of_a_case_the_standby_lacks"]
    assert timeline["status"] == 200 and timeline["lag"] is None and timeline["results"] >= 1
    # The replica's connection lost between the feed's state and its page: the primary
    # answers the request.
    lost = answers["replica_lost_before_the_page"]
    assert lost == {
        "status": 200,
        "lag": None,
        "results": 7,
        "replica_backend_terminated": True,
    }
    # The replica down: the primary serves the feed, and the node stays healthy.
    assert answers["replica_down"]["status"] == 200 and answers["replica_down"]["lag"] is None
    status, replica = answers["health_replica_down"]
    assert status == 200 and replica["status"].startswith("error: ")
