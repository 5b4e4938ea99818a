"""The feed's fast representation, its query counts, and the PostgreSQL-only indexes."""

import datetime as dt
import importlib

import pytest
from django.db import connection
from rest_framework.test import APIClient

from cases import services
from cases.feed import cursor as feed
from cases.feed.documents import FeedEventSerializer, _events, event_rows, represent_events
from cases.models import TimelineEvent
from cases.services import Actor
from tests import factories
from tests.support.clients import api_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

FEED = "/api/v1/events/"
indexes_migration = importlib.import_module("cases.migrations.0007_performance_indexes")


@pytest.fixture(autouse=True)
def _see_own_transaction(monkeypatch):
    """Let the feed serve the test's own, never-committed transaction on PostgreSQL."""
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


def reader(username: str, *, sensitive: bool) -> APIClient:
    """Return a client signed in as a case reader, with or without sensitive values."""
    return api_client(user_in_role(CASE_OFFICER if sensitive else ANALYST, username))


def write_events(notes: int):
    """Write a source, a case and ``notes`` notes, some at odd times; return the case."""
    officer = factories.user(f"officer{notes}")
    report = factories.source(f"Report {notes}")
    case = factories.case()
    for number in range(notes):
        services.note_add(
            actor=Actor(user=officer, channel="api"),
            case=case,
            body=f"Note {number}",
            source=report if number % 2 else None,
        )
    factories.intention(case, stated_on=dt.date(2024, 2, 29))
    return case


@pytest.mark.django_db
def test_fast_representation_equals_the_serializer():
    """Rows read with values() and represented directly match FeedEventSerializer exactly."""
    write_events(5)
    # Timestamps with and without microseconds, as DRF writes them differently.
    times = [
        t for pair in TimelineEvent.objects.values_list("occurred_at", "recorded_at") for t in pair
    ]
    assert any(t.microsecond for t in times) and any(not t.microsecond for t in times)
    events = _events().order_by("id")
    expected = FeedEventSerializer(events, many=True).data
    actual = represent_events(event_rows(events))
    assert len(actual) == TimelineEvent.objects.count() > 7
    for fast, slow in zip(actual, expected, strict=True):
        # "redacted" is added by the view, after redaction, for the reader at hand.
        assert set(fast) == set(slow) - {"redacted"}
        for key in fast:
            assert fast[key] == slow[key], (key, fast[key], slow[key])


@pytest.mark.django_db
@pytest.mark.parametrize("notes", [1, 120])  # 120: several decoded batches
def test_feed_withholds_note_bodies_at_a_flat_query_count(django_assert_num_queries, notes):
    """A reader without the sensitive permission: state and page only, bodies withheld."""
    write_events(notes)
    client = reader("plainreader", sensitive=False)
    client.get(FEED, {"limit": 1000})  # a note on it loads the reader's permissions, once per user
    with django_assert_num_queries(2):
        response = client.get(FEED, {"limit": 1000, "kind": "note.added"})
    results = response.json()["results"]
    assert len(results) == notes
    assert all(e["changes"] == {"body": None} for e in results)
    assert all(e["redacted"] == ["body", "summary"] for e in results)


@pytest.mark.django_db
@pytest.mark.parametrize("notes", [1, 50])
def test_feed_logs_shown_bodies_in_one_insert(django_assert_num_queries, notes):
    """A reader who may see note bodies gets them, with one access-log insert per page."""
    from cases.security.access import AccessLogEntry

    write_events(notes)
    client = reader("fullreader", sensitive=True)
    client.get(FEED, {"limit": 1000})
    before = AccessLogEntry.objects.count()
    with django_assert_num_queries(3):
        response = client.get(FEED, {"limit": 1000, "kind": "note.added"})
    results = response.json()["results"]
    assert [e["changes"]["body"][1] for e in results] == [f"Note {n}" for n in range(notes)]
    assert AccessLogEntry.objects.count() - before == notes


@pytest.mark.django_db
@pytest.mark.parametrize("notes", [1, 50])
def test_timeline_query_count_is_flat(django_assert_num_queries, notes):
    """A case's timeline: the case, the page, nothing per event (no sensitive value shown)."""
    case = write_events(notes)
    client = reader("timelinereader", sensitive=False)
    client.get(FEED, {"limit": 1000})
    with django_assert_num_queries(2):
        response = client.get(f"/api/v1/cases/{case.uuid}/timeline/", {"limit": 1000})
    assert len(response.json()["results"]) == notes + 2  # opened, notes, intention


@pytest.mark.django_db
def test_performance_indexes_exist_on_postgresql_only():
    """The migration creates its indexes on PostgreSQL and leaves SQLite untouched."""
    with connection.cursor() as cursor:
        names = {
            name
            for table in ("cases_case", "cases_personname", "cases_request")
            for name in connection.introspection.get_constraints(cursor, table)
        }
    wanted = {name for name, _definition in indexes_migration.INDEXES}
    if connection.vendor == "postgresql":
        assert wanted <= names
    else:
        assert not wanted & names
