"""The lag signal: a feed page and /healthz say whether an open transaction holds events back.

On PostgreSQL a second, real connection (to another database of the same cluster, to show
that the watermark is cluster-wide) holds a transaction open; the feed says since when,
and an event committed meanwhile is served only once that transaction ends.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from django.db import connection

from cases.feed import cursor
from tests import factories
from tests.support.clients import token_client
from tests.support.connections import psycopg_connection
from tests.support.roles import CASE_OFFICER, user_in_role

FEED = "/api/v1/events/"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the watermark and its holders are PostgreSQL's"
)


def _client():
    client, _token = token_client(user_in_role(CASE_OFFICER, "lag-reader"), name="lag")
    return client


def _cases(events: list[dict]) -> set[str]:
    """Return the uuids of the cases the events are about."""
    return {event["case"]["uuid"] for event in events if event["case"]}


def _drain(client, after=None, timeout: float = 20.0) -> tuple[list[dict], str, dict]:
    """Read the feed to its current end; return its events, the cursor and the last page."""
    events, deadline = [], time.monotonic() + timeout
    while True:
        params = {"limit": 500} if after is None else {"limit": 500, "after": after}
        page = client.get(FEED, params).json()
        events += page["results"]
        after = page["next_cursor"]
        if not page["has_more"] or time.monotonic() > deadline:
            return events, after, page


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite has no watermark to hold")
def test_on_sqlite_nothing_holds_the_feed_back(client):
    """One writer at a time: a committed event is served at once; the signal says so."""
    factories.case()
    page = _client().get(FEED).json()
    assert page["held_back"] is None and page["results"]
    health = client.get("/healthz").json()
    assert health["feed_held_back_seconds"] == 0.0
    assert cursor.held_back() is None


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_in_another_database_holds_the_feed_and_says_since_when(client):
    """While a transaction with an id is open anywhere in the cluster, each page names the
    oldest one's start; an event committed meanwhile waits; /healthz reports the age and
    stays healthy. When the transaction ends, the event is served."""
    reader = _client()
    _events, after, _page = _drain(reader)

    holder = psycopg_connection("postgres")
    try:
        started = holder.execute("SELECT now(), pg_current_xact_id()::text").fetchone()[0]
        time.sleep(0.3)
        case = factories.case()  # committed after the holder took its transaction id

        page = reader.get(FEED, {"after": after, "limit": 500}).json()
        held = page["held_back"]
        assert held is not None
        assert datetime.fromisoformat(held["since"]) <= started
        assert set(held) == {"since"}  # an age would change the body under one ETag
        assert str(case.uuid) not in _cases(page["results"])

        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.json()["feed_held_back_seconds"] >= 0.3
    finally:
        holder.rollback()
        holder.close()

    events, _after, _last = _drain(reader, after)
    assert str(case.uuid) in _cases(events), "served once the transaction ends"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_only_reads_does_not_hold_the_feed():
    """Only a transaction with an id holds the watermark: one that has only read (as an
    analytics query or a replica's hot_standby_feedback) holds back VACUUM, not the feed."""
    reader = _client()
    _events, after, _page = _drain(reader)
    holder = psycopg_connection("postgres")
    try:
        holder.execute("SELECT count(*) FROM pg_class").fetchone()  # a snapshot, no xid
        pid = holder.info.backend_pid
        case = factories.case()
        deadline = time.monotonic() + 20
        seen = False
        while not seen and time.monotonic() < deadline:
            events, after, _page = _drain(reader, after)
            seen = str(case.uuid) in _cases(events)
            time.sleep(0.05)
        assert seen, "an event is served while a read-only transaction stays open"
        with connection.cursor() as sql:
            sql.execute("SELECT backend_xid FROM pg_stat_activity WHERE pid = %s", [pid])
            assert sql.fetchone() == (None,)
    finally:
        holder.rollback()
        holder.close()
