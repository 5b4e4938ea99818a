"""One description of a feed event: the serializer and both fast paths are generated from it."""

import json

import pytest
from django.db import connection

from cases.feed import documents
from cases.feed.documents import (
    EVENT,
    EventDocument,
    FeedEventSerializer,
    Member,
    _events,
    event_rows,
    represent_events,
)
from tests.perf.test_performance_queries import write_events

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database writes the JSON on PostgreSQL only"
)


def described_keys() -> list[str]:
    return [member.key for member in EVENT]


def python_keys() -> list[str]:
    """Return the keys read from a stored event: all but those redaction adds."""
    return [member.key for member in EVENT if member.kind != documents.REDACTED]


@pytest.mark.django_db
def test_serializer_and_python_path_write_the_described_keys_in_order():
    write_events(2)
    events = _events().order_by("id")
    assert list(FeedEventSerializer().fields) == described_keys()
    # An instance holds no "redacted": redaction adds it for the reader at hand, on every path.
    assert [list(e) for e in FeedEventSerializer(events, many=True).data] == [
        python_keys()
    ] * events.count()
    assert [list(e) for e in represent_events(event_rows(events))] == [
        python_keys()
    ] * events.count()


@on_postgresql
@pytest.mark.django_db
def test_database_writes_the_described_keys_in_order():
    write_events(2)
    rows = _events().order_by("id").values("id", document=EventDocument())
    assert [list(json.loads(row["document"])) for row in rows] == [described_keys()] * len(rows)


@pytest.mark.django_db
def test_a_new_member_reaches_the_serializer_and_both_fast_paths(monkeypatch):
    """Adding a key to the feed is one edit of EVENT: all three representations follow it."""
    write_events(2)
    extended = (*EVENT, Member("case_status", "case__status", null_unless="case_id"))
    monkeypatch.setattr(documents, "EVENT", extended)
    monkeypatch.setattr(documents, "_represent", documents._python_representer())
    events = _events().order_by("id")
    expected = [
        event.case.status if event.case_id else None for event in events.select_related("case")
    ]
    assert any(expected)

    serialized = FeedEventSerializer(events, many=True).data
    assert [event["case_status"] for event in serialized] == expected
    represented = represent_events(event_rows(events))
    assert [event["case_status"] for event in represented] == expected
    if connection.vendor == "postgresql":
        rows = events.values("id", document=EventDocument())
        written = [json.loads(row["document"]) for row in rows]
        assert [event["case_status"] for event in written] == expected
        assert [list(event) for event in written] == [[m.key for m in extended]] * len(written)
