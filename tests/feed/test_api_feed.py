"""The change feed and the case timeline: paging, cursors, ETags, errors and query counts."""

import base64
import datetime as dt
import json
import re
import threading
import time

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from cases import services
from cases.feed import cursor as feed
from cases.models import TimelineEvent
from cases.services import Actor
from tests import factories
from tests.support.clients import api_client, field_errors
from tests.support.roles import CASE_OFFICER, superuser, user_in_role

FEED = "/api/v1/events/"


def timeline_url(case) -> str:
    return f"/api/v1/cases/{case.uuid}/timeline/"


@pytest.fixture(autouse=True)
def _see_own_transaction(request, monkeypatch):
    """Widen the PostgreSQL watermark to the test's own transaction, in non-transactional tests.

    Such a test runs inside one transaction that never commits, so the real watermark (the
    oldest transaction still running) is that very transaction and its events would never
    be served. Raising it to just above the test's own transaction keeps them visible; the
    transactional tests below exercise the real watermark.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction"))
    if not transactional:
        monkeypatch.setattr(
            feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1"
        )


@pytest.fixture
def api(db):
    """A case officer reading the feed: every event, sensitive values shown."""
    return api_client(user_in_role(CASE_OFFICER, "feedreader"))


def feed_order() -> list[str]:
    """Return every event's uuid in the order the feed must serve them."""
    order = ["xact_id", "id"] if connection.vendor == "postgresql" else ["id"]
    events = TimelineEvent.objects.order_by(*order)
    return [str(uuid) for uuid in events.values_list("uuid", flat=True)]


def pull_all(client, *, limit: int, params=None, after=None) -> tuple[list[dict], str, int]:
    """Follow the feed to its end; return the events, the last cursor and the page count."""
    events, pages = [], 0
    while True:
        query = {"limit": limit, **(params or {})}
        if after is not None:
            query["after"] = after
        response = client.get(FEED, query)
        assert response.status_code == 200, response.content
        pages += 1
        events.extend(response.data["results"])
        after = response.data["next_cursor"]
        if not response.data["has_more"]:
            return events, after, pages


def forge(**fields) -> str:
    """Return a cursor with ``fields`` over a valid one's."""
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


def current_cursor_fields(client) -> dict:
    _events, cursor, _pages = pull_all(client, limit=1000)
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


@pytest.fixture
def two_cases(db):
    first = factories.case()
    second = factories.case()
    for number in range(3):
        services.note_add(actor=factories.SYSTEM, case=first, body=f"First note {number}")
        services.note_add(actor=factories.SYSTEM, case=second, body=f"Second note {number}")
    return first, second


# --------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", [FEED, "/api/v1/cases/00000000-0000-0000-0000-000000000000/timeline/"]
)
def test_anonymous_callers_are_refused(url):
    """Both endpoints need credentials."""
    response = APIClient().get(url)
    assert response.status_code in {401, 403}
    assert "results" not in (response.data or {})


# --------------------------------------------------------------------------------------------
# Paging and cursors
# --------------------------------------------------------------------------------------------


def test_small_pages_serve_every_event_once_in_feed_order(api, two_cases):
    """Pages of 3 add up to the whole feed, in feed order, with no repeats."""
    events, _cursor, pages = pull_all(api, limit=3)
    served = [event["uuid"] for event in events]
    assert served == feed_order()
    assert len(served) == len(set(served)) == TimelineEvent.objects.count()
    assert pages == -(-len(served) // 3)


def test_cursor_round_trip_resumes_where_the_client_stopped(api, two_cases):
    """A cursor saved after one page resumes with the next event; the last one gives nothing."""
    first_page = api.get(FEED, {"limit": 4}).data
    assert first_page["has_more"] is True
    rest, last_cursor, _pages = pull_all(api, limit=4, after=first_page["next_cursor"])
    served = [e["uuid"] for e in first_page["results"] + rest]
    assert served == feed_order()

    services.note_add(actor=factories.SYSTEM, case=two_cases[0], body="Later note")
    newer = api.get(FEED, {"after": last_cursor}).data
    assert [e["summary"] for e in newer["results"]] == ["Note: Later note"]
    assert newer["has_more"] is False


def test_empty_page_returns_the_cursor_sent(api, two_cases):
    """At the end of the feed the client gets its own cursor back, so it can always pass it."""
    _events, cursor, _pages = pull_all(api, limit=100)
    response = api.get(FEED, {"after": cursor})
    page = dict(response.data)
    page.pop("held_back")  # tests/feed/test_lag_signal.py
    assert page == {"results": [], "next_cursor": cursor, "has_more": False}


def test_empty_feed_gives_a_start_cursor(api):
    """With nothing to serve and no cursor sent, the answer is a cursor at the start."""
    response = api.get(FEED)
    assert response.status_code == 200
    assert response.data["results"] == [] and response.data["has_more"] is False
    factories.case()
    again = api.get(FEED, {"after": response.data["next_cursor"]})
    assert [e["uuid"] for e in again.data["results"]] == feed_order()
    assert {e["kind"] for e in again.data["results"]} == {
        "party.created",
        "person.created",
        "case.opened",
    }


def test_event_representation(api, db):
    """Each event shows its case, sequence, actor, source and both dates."""
    officer = factories.user("officer.kim")
    report = factories.source("Interview with Ri")
    case = factories.case(reference="UA-2025-0001")
    services.note_add(
        actor=Actor(user=officer, channel="api"), case=case, body="Asked for surgery", source=report
    )
    results = api.get(FEED).data["results"]
    note = results[-1]
    assert note == {
        "uuid": note["uuid"],
        "case": {"uuid": str(case.uuid), "reference": "UA-2025-0001"},
        "case_seq": 2,
        "kind": "note.added",
        "summary": "Note: Asked for surgery",
        "changes": {"body": [None, "Asked for surgery"]},
        "actor": {"label": "officer.kim", "username": "officer.kim"},
        "channel": "api",
        "reason": "",
        "source": {"uuid": str(report.uuid), "title": "Interview with Ri"},
        "subject_type": "note",
        "subject_uuid": note["subject_uuid"],
        "subject_version": None,
        "object": {
            "uuid": note["subject_uuid"],
            "case": str(case.uuid),
            "body": "Asked for surgery",
            "author": "officer.kim",
            "source": {"uuid": str(report.uuid), "title": "Interview with Ri"},
            "redacted": [],
            "created_at": note["object"]["created_at"],
        },
        "occurred_at": note["occurred_at"],
        "occurred_precision": "exact",
        "recorded_at": note["recorded_at"],
        "prev_hash": TimelineEvent.objects.get(case=case, case_seq=1).hash,
        "hash": TimelineEvent.objects.get(case=case, case_seq=2).hash,
        "redacted": [],
    }
    assert re.fullmatch(r"[0-9a-f]{64}", note["hash"]) and note["prev_hash"] != note["hash"]
    source_event = results[0]
    assert source_event["kind"] == "source.created"
    assert source_event["case"] is None and source_event["case_seq"] is None
    assert source_event["actor"] == {"label": "tests", "username": None}


# --------------------------------------------------------------------------------------------
# Empty polls: ETag and 304
# --------------------------------------------------------------------------------------------


def test_repeated_poll_with_if_none_match_is_304(api, two_cases):
    """An empty poll that repeats the ETag gets 304 with no body, until something new lands."""
    _events, cursor, _pages = pull_all(api, limit=100)
    first = api.get(FEED, {"after": cursor})
    etag = first["ETag"]
    assert etag and first["Cache-Control"] == "private, no-cache, no-store"

    again = api.get(FEED, {"after": cursor}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag

    services.note_add(actor=factories.SYSTEM, case=two_cases[1], body="News")
    changed = api.get(FEED, {"after": cursor}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert [e["summary"] for e in changed.data["results"]] == ["Note: News"]
    assert changed["ETag"] != etag


def test_etag_depends_on_the_request(api, two_cases):
    """Another cursor, filter or limit is another page and another ETag."""
    etag = api.get(FEED, {"limit": 2})["ETag"]
    assert api.get(FEED, {"limit": 3}, HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert (
        api.get(FEED, {"limit": 2, "kind": "note.added"}, HTTP_IF_NONE_MATCH=etag).status_code
        == 200
    )
    assert api.get(FEED, {"limit": 2}, HTTP_IF_NONE_MATCH=etag).status_code == 304


# --------------------------------------------------------------------------------------------
# Bad input: 400 and 410
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "!!!!",
        base64.urlsafe_b64encode(b"plain text").decode(),
        forge(v=99, b="sqlite", db="x", x=0, i=1),
        forge(v=1, b="oracle", db="x", x=0, i=1),
        forge(v=1, b="sqlite", db="x", x=0, i=-1),
        forge(v=1, b="pg", db="x", x="12", i=1),
        forge(v=1, b="pg", db="x", x=True, i=1),
        forge(v=1, b="sqlite", db="x", x=5, i=1),
        forge(v=1, b="pg", db=7, x=1, i=1),
        "a" * 600,
    ],
)
def test_malformed_cursor_is_400_with_advice(api, cursor):
    """Anything that is not a cursor this feed issued is refused with a message to act on."""
    response = api.get(FEED, {"after": cursor})
    assert response.status_code == 400
    message = field_errors(response)["after"][0]
    assert "next_cursor" in message and "leave 'after' out" in message


@pytest.mark.parametrize("limit", ["0", "10001", "-3", "ten", "1.5"])
def test_bad_limit_is_400(api, limit):
    """A limit outside 1..10000 is refused, on both endpoints."""
    response = api.get(FEED, {"limit": limit})
    assert response.status_code == 400
    assert "from 1 to 10000" in field_errors(response)["limit"][0]
    case = factories.case()
    assert api.get(timeline_url(case), {"limit": limit}).status_code == 400


def test_limit_defaults_to_100_and_allows_10000(api):
    """The default page is 100 events; 10,000 is the largest page, for syncing clients."""
    assert feed.MAX_LIMIT == 10_000
    case = factories.case()
    for number in range(105):
        services.note_add(actor=factories.SYSTEM, case=case, body=f"Note {number}")
    assert len(api.get(FEED).data["results"]) == 100
    assert len(api.get(FEED, {"limit": 10_000}).data["results"]) == 108


def test_cursor_from_another_database_is_410(api, two_cases):
    """A cursor naming another database tells the client to sync again from the start."""
    fields = current_cursor_fields(api)
    response = api.get(FEED, {"after": forge(**{**fields, "db": fields["db"] + "0"})})
    assert response.status_code == 410
    assert "sync again from the start" in response.data["detail"]


def test_cursor_beyond_this_database_is_410(api, two_cases):
    """A cursor past anything this database handed out (ids restarted) is 410, not a skip."""
    fields = current_cursor_fields(api)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
            horizon = cursor.fetchone()[0]
        future = {**fields, "x": horizon + 1_000_000}
    else:
        future = {**fields, "i": fields["i"] + 1}
    response = api.get(FEED, {"after": forge(**future)})
    assert response.status_code == 410
    assert "sync again from the start" in response.data["detail"]


def test_cursor_against_an_empty_database_is_410(api, db):
    """On a database with no events, a cursor with a position cannot be honoured."""
    backend = "pg" if connection.vendor == "postgresql" else "sqlite"
    response = api.get(FEED, {"after": forge(v=1, b=backend, db="abc", x=0, i=4)})
    assert response.status_code == 410


def test_start_cursor_from_another_database_is_accepted(api, two_cases):
    """The start is the same place everywhere, so a start cursor from elsewhere still works."""
    backend = "pg" if connection.vendor == "postgresql" else "sqlite"
    response = api.get(FEED, {"after": forge(v=1, b=backend, db="elsewhere", x=0, i=0)})
    assert response.status_code == 200
    assert len(response.data["results"]) == TimelineEvent.objects.count()


def test_sqlite_database_identifier_is_the_first_event_uuid(api, two_cases):
    """On SQLite the cursor names the database by the uuid of its first event."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's identifier")
    first = TimelineEvent.objects.order_by("id").first()
    assert current_cursor_fields(api)["db"] == first.uuid.hex


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def test_filters_narrow_results_and_the_cursor_still_reaches_the_head(api, two_cases):
    """A filtered client gets only matching events and ends at the same cursor as everyone."""
    first, _second = two_cases
    _all, head_cursor, _pages = pull_all(api, limit=1000)
    matching, cursor, _pages = pull_all(
        api, limit=2, params={"case": str(first.uuid), "kind": "note.added"}
    )
    assert [e["summary"] for e in matching] == [f"Note: First note {n}" for n in range(3)]
    assert cursor == head_cursor


def test_filter_on_several_kinds(api, two_cases):
    """Repeating 'kind' keeps events of any of the kinds named."""
    events, _cursor, _pages = pull_all(
        api, limit=100, params={"kind": ["case.opened", "person.created"]}
    )
    assert sorted({e["kind"] for e in events}) == ["case.opened", "person.created"]
    assert len(events) == 4


def test_date_filters(api, db):
    """occurred_after/before and recorded_after/before are inclusive bounds."""
    case = factories.case()
    services.occurrence_record(
        actor=factories.SYSTEM,
        case=case,
        kind="capture",
        occurred_on=dt.date(2025, 1, 9),
        description="Captured in Kursk",
    )
    events, _c, _p = pull_all(
        api,
        limit=100,
        params={
            "occurred_after": "2025-01-09T00:00:00Z",
            "occurred_before": "2025-01-09T00:00:00Z",
        },
    )
    assert [e["kind"] for e in events] == ["occurrence.recorded"]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert pull_all(api, limit=100, params={"recorded_after": future})[0] == []
    assert len(pull_all(api, limit=100, params={"recorded_before": future})[0]) == 4


@pytest.mark.parametrize(
    "params",
    [{"case": "not-a-uuid"}, {"kind": "case.exploded"}, {"occurred_after": "yesterday"}],
)
def test_bad_filter_is_400(api, params):
    """A filter value that cannot be read is refused, naming the parameter."""
    response = api.get(FEED, params)
    assert response.status_code == 400
    assert set(field_errors(response)) == set(params)


# --------------------------------------------------------------------------------------------
# Query counts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("notes", [1, 50])
def test_feed_query_count_does_not_grow_with_the_page(api, django_assert_num_queries, notes):
    """One query for the feed's state, one for the page and one access-log insert, flat."""
    officer = factories.user("officer.lee")
    report = factories.source()
    case = factories.case()
    for number in range(notes):
        services.note_add(
            actor=Actor(user=officer), case=case, body=f"Note {number}", source=report
        )
    api.get(FEED, {"limit": 1000})  # a note on it loads the reader's permissions, once per user
    # The state, the page, and one access-log insert for the note bodies the reader sees.
    with django_assert_num_queries(3):
        response = api.get(FEED, {"limit": 1000, "kind": "note.added"})
    assert len(response.data["results"]) == notes
    etag = api.get(FEED)["ETag"]
    with django_assert_num_queries(1):
        assert api.get(FEED, HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.parametrize("notes", [1, 50])
def test_timeline_query_count_does_not_grow_with_the_page(api, django_assert_num_queries, notes):
    """One query for the case, one for the page, one access-log insert."""
    officer = factories.user("officer.park")
    case = factories.case()
    for number in range(notes):
        services.note_add(actor=Actor(user=officer), case=case, body=f"Note {number}")
    api.get(FEED, {"limit": 1000})  # a note on it loads the reader's permissions, once per user
    with django_assert_num_queries(3):
        response = api.get(timeline_url(case), {"kind": "note.added"})
    assert len(response.data["results"]) == notes


# --------------------------------------------------------------------------------------------
# The case timeline
# --------------------------------------------------------------------------------------------


def test_timeline_pages_by_case_seq(api, two_cases):
    """One case's events come by case_seq, paged with after_seq, and nothing of other cases."""
    first, _second = two_cases
    seen, after_seq = [], 0
    while True:
        page = api.get(timeline_url(first), {"after_seq": after_seq, "limit": 2}).data
        seen.extend(page["results"])
        after_seq = page["next_after_seq"]
        if not page["has_more"]:
            break
    assert [e["case_seq"] for e in seen] == [1, 2, 3, 4]
    assert {e["case"]["uuid"] for e in seen} == {str(first.uuid)}
    assert after_seq == 4
    assert api.get(timeline_url(first), {"after_seq": 4}).data == {
        "results": [],
        "next_after_seq": 4,
        "has_more": False,
    }


def test_timeline_filter_by_kind_still_advances(api, two_cases):
    """Filtered to notes, the timeline skips the opening but its next_after_seq reaches the end."""
    first, _second = two_cases
    page = api.get(timeline_url(first), {"kind": "note.added"}).data
    assert [e["case_seq"] for e in page["results"]] == [2, 3, 4]
    assert page["next_after_seq"] == 4
    opened = api.get(timeline_url(first), {"kind": ["case.opened"], "limit": 1}).data
    assert [e["case_seq"] for e in opened["results"]] == [1]
    assert opened["has_more"] is False and opened["next_after_seq"] == 4


def test_timeline_unknown_case_is_404(api):
    response = api.get("/api/v1/cases/00000000-0000-0000-0000-000000000000/timeline/")
    assert response.status_code == 404
    assert response.data["detail"]


@pytest.mark.parametrize("after_seq", ["-1", "x"])
def test_timeline_bad_after_seq_is_400(api, two_cases, after_seq):
    response = api.get(timeline_url(two_cases[0]), {"after_seq": after_seq})
    assert response.status_code == 400
    assert "after_seq" in field_errors(response)


def test_timeline_after_seq_beyond_the_end_is_410(api, two_cases):
    """A sequence number the case never reached means the data went back in time."""
    response = api.get(timeline_url(two_cases[0]), {"after_seq": 99})
    assert response.status_code == 410
    assert "from the start" in response.data["detail"]


def test_timeline_304_until_the_case_changes(api, two_cases):
    """The timeline's ETag holds until the case gets a new event; other cases do not matter."""
    first, second = two_cases
    etag = api.get(timeline_url(first), {"after_seq": 4})["ETag"]
    services.note_add(actor=factories.SYSTEM, case=second, body="Elsewhere")
    same = api.get(timeline_url(first), {"after_seq": 4}, HTTP_IF_NONE_MATCH=etag)
    assert same.status_code == 304 and same.content == b""
    services.note_add(actor=factories.SYSTEM, case=first, body="Here")
    changed = api.get(timeline_url(first), {"after_seq": 4}, HTTP_IF_NONE_MATCH=etag)
    assert [e["case_seq"] for e in changed.data["results"]] == [5]


# --------------------------------------------------------------------------------------------
# PostgreSQL: the real watermark and numeric order
# --------------------------------------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="transaction ids exist on PostgreSQL only"
)


def _wait_for(client, cursor, count: int, *, deadline_s: float = 60.0):
    """Follow the feed from ``cursor`` until ``count`` events arrived.

    The watermark follows the oldest transaction in the whole cluster, which other sessions
    may hold open for a while; this waits for that instead of failing on it.
    """
    events, give_up = [], time.monotonic() + deadline_s
    while len(events) < count and time.monotonic() < give_up:
        page = client.get(FEED, {"limit": 1000} | ({"after": cursor} if cursor else {})).data
        events.extend(page["results"])
        cursor = page["next_cursor"]
        if not page["results"]:
            time.sleep(0.05)
    return events, cursor


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_open_transaction_holds_back_later_commits():
    """An uncommitted event holds back everything committed after it, then comes first."""
    client = APIClient()
    # A superuser reads without permission rows, which the flush of an earlier
    # transactional test can leave pointing at stale content types.
    client.force_authenticate(superuser("poller"))
    case = factories.case()
    other = factories.case()
    start, cursor = _wait_for(client, None, 6)
    assert len(start) == 6

    written, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                services.note_add(actor=factories.SYSTEM, case=case, body="Slow")
                written.set()
                release.wait(30)
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(30)
    services.note_add(actor=factories.SYSTEM, case=other, body="Fast")
    held = client.get(FEED, {"after": cursor, "limit": 1000}).data
    assert held["results"] == []
    assert held["next_cursor"] == cursor

    release.set()
    assert done.wait(30)
    thread.join()
    events, _cursor = _wait_for(client, cursor, 2)
    assert [e["summary"] for e in events] == ["Note: Slow", "Note: Fast"]


@pytest.mark.django_db(transaction=True)
def test_feed_order_is_numeric_across_a_digit_boundary():
    """Ids either side of 10**k come in numeric order, also across pages; text would differ.

    The id sequence is moved (a counter, not case data) so that events get ids on both sides
    of a power of ten.
    """
    last = TimelineEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    boundary = 10 ** (len(str(last)) + 1)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('cases_timelineevent', 'id'), %s)",
                [boundary - 5],
            )
        else:
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = %s WHERE name = 'cases_timelineevent'",
                [boundary - 5],
            )
    case = factories.case()
    # One transaction: on PostgreSQL the event id then decides the order within it.
    with transaction.atomic():
        for number in range(7):
            services.note_add(actor=factories.SYSTEM, case=case, body=f"Across {number}")

    client = APIClient()
    # A superuser reads without permission rows, which the flush of an earlier
    # transactional test can leave pointing at stale content types.
    client.force_authenticate(superuser("poller"))
    total = TimelineEvent.objects.count()
    events, cursor, served_pages = [], None, 0
    give_up = time.monotonic() + 60
    # Pages of 2 put cursors on both sides of the boundary; the wait covers other sessions
    # of the cluster holding the watermark back for a moment.
    while len(events) < total and time.monotonic() < give_up:
        page = client.get(FEED, {"limit": 2} | ({"after": cursor} if cursor else {})).data
        events.extend(page["results"])
        cursor = page["next_cursor"]
        served_pages += 1
        if not page["results"]:
            time.sleep(0.05)
    rows = {
        str(uuid): (xact_id or 0, pk)
        for uuid, xact_id, pk in TimelineEvent.objects.values_list("uuid", "xact_id", "id")
    }
    served = [rows[event["uuid"]] for event in events]
    assert len(served) == total == len(set(served))
    assert served == sorted(served)
    assert served != sorted(served, key=lambda pair: (str(pair[0]), str(pair[1])))
    assert min(pk for _x, pk in served) < boundary <= max(pk for _x, pk in served)
