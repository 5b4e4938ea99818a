"""The feed's fast page: the same events as FeedEventSerializer, redacted and logged the same.

On PostgreSQL the database writes each event's JSON (``EventDocument``) and only events that
may hold a sensitive value (``MayBeSensitive``) go through
:mod:`cases.security.sensitive` in Python;
elsewhere the events are represented in Python. Either way the page must equal, event by
event, what the serializer and the redaction rules give for the same reader.
"""

import datetime as dt
import json

import pytest
from django.db import connection

from cases import services
from cases.feed import cursor as feed
from cases.feed.documents import (
    EventDocument,
    FeedEventSerializer,
    MayBeSensitive,
    _events,
    event_documents,
)
from cases.models import TimelineEvent
from cases.security import sensitive
from cases.security.access import AccessLogEntry
from cases.services import Actor, NameSpec
from tests import factories
from tests.support.clients import api_client, token_client
from tests.support.roles import ANALYST, CASE_OFFICER, INTEGRATION, user_in_role

FEED = "/api/v1/events/"

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database writes the JSON on PostgreSQL only"
)

#: Text that JSON must escape or that JavaScript needs escaped, and scripts other than Latin.
AWKWARD = 'Quote " backslash \\ tab\tline\nbell\x07 sep\u2028para\u2029 리 Лі 🙂'


@pytest.fixture(autouse=True)
def _see_own_transaction(monkeypatch):
    """Let the feed serve the test's own, never-committed transaction on PostgreSQL."""
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


def client_for(username: str, *, sensitive_values: bool):
    """Return an API client and its user: a case reader, with or without sensitive values."""
    user = user_in_role(CASE_OFFICER if sensitive_values else ANALYST, username)
    return api_client(user), user


@pytest.fixture
def every_kind_of_event(db):
    """Write events of many kinds, with sensitive values, odd text and odd times."""
    officer = factories.user("officer.fast")
    report = factories.source(f"Report {AWKWARD}")
    person = factories.person(
        "Ri",
        names=[
            NameSpec("리", "hangul"),
            NameSpec("Lee", "latin", "conventional"),
            NameSpec("Comrade R", "latin", is_pseudonym=True),
        ],
        birth_place="Pyongyang",
        service_number="KPA-0042",
        medical_notes=f"Jaw wound {AWKWARD}",
    )
    case = factories.case(reference="UA-2025-0001", person_obj=person)
    services.person_update(
        actor=Actor(user=officer),
        person=person,
        names=[NameSpec("Ri", "latin"), NameSpec("Comrade Ri", "latin", is_pseudonym=True)],
        birth_place="Hamhung",
        rank="Private",
        reason=f"Corrected {AWKWARD}",
    )
    services.person_update(
        actor=Actor(user=officer),
        person=person,
        names=[
            NameSpec("Comrade Ri", "latin", is_pseudonym=True),
            NameSpec("R.", "latin", is_pseudonym=True),
        ],
    )
    factories.intention(case, quote=f"I want to go to South Korea {AWKWARD}", source=report)
    factories.intention(case, quote="", option="undecided", destination_country="")
    services.note_add(
        actor=Actor(user=officer, channel="api"), case=case, body=f"{AWKWARD}\nsecond line"
    )
    services.note_add(actor=factories.SYSTEM, case=case, body="Plain note", source=report)
    services.occurrence_record(
        actor=factories.SYSTEM,
        case=case,
        kind="capture",
        occurred_on=dt.date(2025, 1, 9),
        description=f"Captured {AWKWARD}",
    )
    factories.request(case)
    factories.advance_case(case, "interned")
    return case


def expected_results(events, user) -> list[dict]:
    """Return FeedEventSerializer's representation of ``events``, redacted for ``user``."""
    data = json.loads(json.dumps(FeedEventSerializer(events, many=True).data))
    sensitive.redact_events(data, user)
    return data


def pull(client, url=FEED, **params) -> list[dict]:
    response = client.get(url, {"limit": 1000, **params})
    assert response.status_code == 200, response.content
    return json.loads(response.content)["results"]


@pytest.mark.parametrize("sensitive_values", [False, True])
def test_feed_page_equals_the_serializer_for_every_reader(every_kind_of_event, sensitive_values):
    """Every event of the page equals the serializer's, redacted as the reader must see it."""
    client, user = client_for("reader", sensitive_values=sensitive_values)
    results = pull(client)
    order = ["xact_id", "id"] if connection.vendor == "postgresql" else ["id"]
    expected = expected_results(_events().order_by(*order), user)
    assert len(results) == len(expected) == TimelineEvent.objects.count() >= 15
    for served, wanted in zip(results, expected, strict=True):
        assert served == wanted
        assert list(served) == list(wanted)  # the documented key order too
    redacted = [e for e in results if e["redacted"]]
    if sensitive_values:
        assert not redacted
        assert [None, f"Jaw wound {AWKWARD}"] in [
            e["changes"].get("medical_notes") for e in results
        ]
    else:
        # The person's fields and true names, the quote and the note body are withheld.
        assert {key for e in redacted for key in e["redacted"]} >= {
            "birth_place",
            "service_number",
            "medical_notes",
            "names",
            "quote",
            "body",
            "summary",
        }
        changes = json.dumps([e["changes"] for e in results], ensure_ascii=False)
        assert "KPA-0042" not in changes and "Pyongyang" not in changes and "Lee" not in changes


def test_timeline_page_equals_the_serializer(every_kind_of_event):
    """A case's timeline is the same representation, by case_seq."""
    case = every_kind_of_event
    client, user = client_for("timeline.reader", sensitive_values=False)
    results = pull(client, f"/api/v1/cases/{case.uuid}/timeline/")
    expected = expected_results(_events().filter(case=case).order_by("case_seq"), user)
    assert results == expected
    assert [e["case_seq"] for e in results] == list(range(1, len(results) + 1))


def test_sensitive_reads_are_logged_once_per_page(every_kind_of_event):
    """A permitted reader's page appends one entry per subject shown, in one insert."""
    client, user = client_for("logged.reader", sensitive_values=True)
    results = pull(client)
    shown = {
        (e["subject_type"], e["subject_uuid"])
        for e in results
        if sensitive.event_shows_sensitive(e["kind"], e["subject_type"], e["changes"])
    }
    logged = {(e.object_type, str(e.object_uuid)) for e in AccessLogEntry.objects.all()}
    assert logged == shown
    assert {t for t, _u in shown} == {"person", "statedintention", "note"}
    assert AccessLogEntry.objects.values("response_id").distinct().count() == 1
    assert set(AccessLogEntry.objects.values_list("username", flat=True)) == {user.username}


def test_reader_without_the_permission_logs_nothing(every_kind_of_event):
    client, _user = client_for("plain.reader", sensitive_values=False)
    assert pull(client)
    assert not AccessLogEntry.objects.exists()


@postgres_only
def test_events_left_to_the_database_need_no_redaction(every_kind_of_event):
    """An event MayBeSensitive passes over is one the redaction rules leave as it is."""
    plain = factories.user("nobody")
    rows = list(
        _events().order_by("id").values("id", document=EventDocument(), flag=MayBeSensitive())
    )
    passed_over = [json.loads(row["document"]) for row in rows if not row["flag"]]
    flagged = [json.loads(row["document"]) for row in rows if row["flag"]]
    assert passed_over and flagged
    for event in passed_over:
        before = json.loads(json.dumps(event))
        assert sensitive.redact_event(event, plain, allowed=False) == []
        assert event == before
        assert (
            sensitive.event_shows_sensitive(event["kind"], event["subject_type"], event["changes"])
            == []
        )
        assert sensitive.object_shows_sensitive(event) == []
    # Each event that holds a sensitive value is among those checked in Python: in its
    # changes or summary, or in the object of a subject type with sensitive fields.
    for event in flagged:
        assert (
            event["kind"] in sensitive.SUMMARY_REPEATS_BODY
            or set(event["changes"]) & {*sensitive.SENSITIVE_CHANGE_KEYS, "body", "names"}
            or event["subject_type"] in sensitive.SENSITIVE_FIELDS
        )


@postgres_only
def test_database_timestamps_match_drf_with_and_without_microseconds(db):
    """Whole seconds are written without a fraction, others with six digits, both with Z."""
    case = factories.case()
    services.occurrence_record(
        actor=factories.SYSTEM,
        case=case,
        kind="capture",
        occurred_on=dt.date(2025, 1, 9),
        description="Captured",
    )
    rows = list(event_documents(_events().order_by("id")))
    served = [json.loads(row["document"]) for row in rows]
    expected = FeedEventSerializer(_events().order_by("id"), many=True).data
    times = [(e["occurred_at"], e["recorded_at"]) for e in served]
    assert times == [(e["occurred_at"], e["recorded_at"]) for e in expected]
    assert any(not t[0].count(".") for t in times) and any("." in t[1] for t in times)


def test_page_bytes_are_compact_json_with_javascript_separators_escaped(every_kind_of_event):
    """As DRF's renderer: application/json, U+2028 and U+2029 escaped, nothing else to add."""
    client, _user = client_for("bytes.reader", sensitive_values=True)
    response = client.get(FEED, {"limit": 1000})
    assert response["Content-Type"] == "application/json"
    body = response.content.decode()
    assert "\u2028" not in body and "\\u2028" in body
    assert "\u2029" not in body and "\\u2029" in body
    assert body.startswith('{"results":[{"uuid":')
    assert '"has_more":false,"held_back":' in body and " " not in body.rsplit('"has_more"')[1]
    assert response.data["next_cursor"] == json.loads(body)["next_cursor"]


def test_indented_and_browsable_renderings_show_the_same_page(every_kind_of_event):
    """An indented JSON rendering and the browsable API get the same data."""
    client, _user = client_for("html.reader", sensitive_values=False)
    compact = json.loads(client.get(FEED, {"limit": 1000}).content)
    indented = client.get(FEED, {"limit": 1000}, HTTP_ACCEPT="application/json; indent=2")
    assert b'\n  "results"' in indented.content
    assert json.loads(indented.content) == compact
    html = client.get(FEED, {"limit": 1000}, HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    assert compact["next_cursor"].encode() in html.content


def test_empty_poll_with_a_kept_token_costs_one_query(db, django_assert_num_queries):
    """The feed's state alone: the token and the reader's permissions were kept at the first
    poll (cases/security/credentials.py), and an empty page needs no page query."""
    factories.case()
    reader = user_in_role(INTEGRATION, "integration.poller")
    client, _token = token_client(reader, name="poller", read_only=True)
    first = client.get(FEED, {"limit": 1000})
    cursor = first.data["next_cursor"]
    etag = client.get(FEED, {"after": cursor})["ETag"]
    with django_assert_num_queries(1):
        assert client.get(FEED, {"after": cursor}, HTTP_IF_NONE_MATCH=etag).status_code == 304
    with django_assert_num_queries(1):
        empty = client.get(FEED, {"after": cursor})
    assert empty.status_code == 200 and empty.data["results"] == []


def test_empty_poll_with_a_token_not_kept_costs_four_queries(
    db, settings, django_assert_num_queries
):
    """Without the credentials cache: the token (with its user), the reader's permissions
    (user and groups) and the feed's state."""
    settings.API_CREDENTIALS_CACHE_SECONDS = 0
    factories.case()
    reader = user_in_role(INTEGRATION, "integration.poller")
    client, _token = token_client(reader, name="poller", read_only=True)
    cursor = client.get(FEED, {"limit": 1000}).data["next_cursor"]
    client.get(FEED, {"after": cursor})
    with django_assert_num_queries(4):
        assert client.get(FEED, {"after": cursor}).data["results"] == []


def test_many_sensitive_events_on_one_page_are_all_redacted_and_logged(db):
    """More sensitive events than are decoded at once: each withheld, or shown and logged."""
    from cases.feed.documents import _DECODED_AT_ONCE

    case = factories.case()
    count = 2 * _DECODED_AT_ONCE + 7
    for number in range(count):
        services.note_add(actor=factories.SYSTEM, case=case, body=f"Body {number}")
    plain, _user = client_for("many.plain", sensitive_values=False)
    notes = [e for e in pull(plain) if e["kind"] == "note.added"]
    assert len(notes) == count
    assert all(
        e["changes"] == {"body": None} and e["redacted"] == ["body", "summary"] for e in notes
    )
    assert not AccessLogEntry.objects.exists()

    full, _user = client_for("many.full", sensitive_values=True)
    notes = [e for e in pull(full) if e["kind"] == "note.added"]
    assert [e["changes"]["body"][1] for e in notes] == [f"Body {n}" for n in range(count)]
    logged = {str(uuid) for uuid in AccessLogEntry.objects.values_list("object_uuid", flat=True)}
    assert logged >= {e["subject_uuid"] for e in notes}
    assert AccessLogEntry.objects.values("response_id").distinct().count() == 1
