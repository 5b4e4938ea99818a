"""Every subject type events name has an endpoint, and its events carry what it serves.

Positions, occurrences and notes are read-only resources (written through their request or
case), filtered by FilterSets and read under the same policy as the other case data: the
model's view permission, sensitive values withheld without ``cases.view_sensitive``. For
every subject type, the representation its latest event carries equals its endpoint's
answer (less what docs/feed.md says events leave out), for a reader who sees sensitive
values and for one who does not.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.feed import cursor as feed
from cases.models import TimelineEvent
from cases.timeline.representations import SUBJECT_TYPES, representer_for
from tests import factories
from tests.support import clients
from tests.support.subjects import ENDPOINTS, as_event_object, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _see_own_transaction(monkeypatch):
    """Serve the test's own uncommitted events from the feed (see tests/feed/test_api_feed.py)."""
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


@pytest.fixture
def world(db):
    """One row of every subject type, written through the services."""
    return build_world()


def _feed_events(client) -> list[dict]:
    events, cursor = [], None
    while True:
        response = client.get("/api/v1/events/", {"after": cursor} if cursor else {})
        assert response.status_code == 200, response.content
        events.extend(response.json()["results"])
        cursor = response.json()["next_cursor"]
        if not response.json()["has_more"]:
            return events


def test_every_subject_type_has_a_representer_and_an_endpoint():
    """A subject type without an endpoint or a representer would leave a mirror blind."""
    assert set(SUBJECT_TYPES) == set(ENDPOINTS)
    for subject_type in SUBJECT_TYPES:
        assert representer_for(subject_type) is not None, subject_type


def test_the_feed_docs_name_every_subject_type_and_its_endpoint():
    """docs/feed.md lists each type the feed's ``subject_type`` filter takes, with its
    endpoint, so that an integrator knows every type he may be sent."""
    text = " ".join((settings.BASE_DIR / "docs" / "feed.md").read_text().split())
    for subject_type, endpoint in ENDPOINTS.items():
        listed = f"`{subject_type}` (`{endpoint.removeprefix('/api/v1/')}`)"
        assert listed in text, listed


def test_events_name_only_known_subject_types(world):
    """Every event the services wrote names a subject type with an endpoint."""
    assert set(TimelineEvent.objects.values_list("subject_type", flat=True)) <= set(ENDPOINTS)


@pytest.mark.parametrize("reader", ["officer", "analyst"])
def test_latest_event_of_each_subject_carries_what_its_endpoint_serves(world, reader, request):
    """For each subject, the newest event's ``object`` equals GET of the subject (redacted
    alike for the analyst) and its ``subject_version`` the row's version."""
    user = request.getfixturevalue(reader)
    client = clients.api_client(user)
    latest = {}
    for event in _feed_events(client):
        latest[(event["subject_type"], event["subject_uuid"])] = event
    for subject_type, endpoint in ENDPOINTS.items():
        row = world[subject_type]
        response = client.get(f"{endpoint}{row.uuid}/")
        assert response.status_code == 200, (subject_type, response.content)
        served = response.json()
        event = latest[(subject_type, str(row.uuid))]
        assert event["object"] == as_event_object(subject_type, served), subject_type
        assert event["subject_version"] == served.get("version"), subject_type


def test_the_analyst_gets_sensitive_values_withheld_in_objects(world, analyst):
    """A note's body, a quote and a true name are withheld in events' objects as in the API."""
    events = _feed_events(clients.api_client(analyst))
    note = next(e for e in events if e["kind"] == "note.added")
    assert note["object"]["body"] is None and note["object"]["redacted"] == ["body"]
    recorded = next(e for e in events if e["kind"] == "intention.recorded")
    assert recorded["object"]["quote"] is None and "quote" in recorded["object"]["redacted"]
    person = next(e for e in events if e["kind"] == "person.created")
    assert [n["value"] for n in person["object"]["names"]] == ["Lee"]
    assert person["object"]["birth_place"] is None
    # The stored representation keeps them, for readers who may see them.
    stored = TimelineEvent.objects.get(uuid=note["uuid"]).object
    assert stored["body"] == "Asked for jaw surgery"


def test_officer_reads_of_sensitive_objects_are_logged(world, officer):
    """A permitted reader shown a sensitive value in an event's object is logged, as the API
    logs it."""
    from cases.models import AccessLogEntry

    _feed_events(clients.api_client(officer))
    logged = {(e.object_type, e.object_uuid) for e in AccessLogEntry.objects.all()}
    assert ("note", world["note"].uuid) in logged
    assert ("person", world["person"].uuid) in logged


@pytest.mark.parametrize("subject_type", ["position", "occurrence", "note"])
def test_new_endpoints_list_and_read(world, officer_client, subject_type):
    """Positions, occurrences and notes are listed and read by uuid."""
    endpoint = ENDPOINTS[subject_type]
    listed = clients.results(officer_client.get(endpoint))
    assert [row["uuid"] for row in listed] == [str(world[subject_type].uuid)]
    detail = officer_client.get(f"{endpoint}{world[subject_type].uuid}/")
    assert detail.status_code == 200
    assert detail.json()["url"].endswith(f"{endpoint}{world[subject_type].uuid}/")
    # Occurrences are recorded here too (an empty body is refused); the others are not.
    refused = 400 if subject_type == "occurrence" else 405
    assert officer_client.post(endpoint, {}, format="json").status_code == refused
    assert officer_client.delete(f"{endpoint}{world[subject_type].uuid}/").status_code == 405


def test_new_endpoints_filter(world, officer_client):
    """Each new endpoint filters by case; positions by request, party and stance too."""
    other = factories.case()
    services.note_add(actor=factories.SYSTEM, case=other, body="Elsewhere")
    case = str(world["case"].uuid)
    for subject_type in ("position", "occurrence", "note"):
        rows = clients.results(officer_client.get(ENDPOINTS[subject_type], {"case": case}))
        assert [row["uuid"] for row in rows] == [str(world[subject_type].uuid)], subject_type
    notes = clients.results(officer_client.get(ENDPOINTS["note"], {"case": str(other.uuid)}))
    assert [row["body"] for row in notes] == ["Elsewhere"]
    positions = ENDPOINTS["position"]
    request_uuid = str(world["request"].uuid)
    assert clients.results(officer_client.get(positions, {"request": request_uuid}))
    assert not clients.results(officer_client.get(positions, {"stance": "opposes"}))
    assert clients.results(officer_client.get(positions, {"party": str(world["party"].uuid)}))
    assert officer_client.get(positions, {"stance": "maybe"}).status_code == 400
    assert officer_client.get(positions, {"case": "not-a-uuid"}).status_code == 400
    occurrences = ENDPOINTS["occurrence"]
    assert clients.results(officer_client.get(occurrences, {"kind": "icrc_visit"}))
    assert not clients.results(officer_client.get(occurrences, {"occurred_after": "2026-01-01"}))


def test_note_body_is_withheld_from_the_analyst(world, analyst_client):
    """An analyst reads notes without their body, named in ``redacted``."""
    row = clients.results(analyst_client.get(ENDPOINTS["note"]))[0]
    assert row["body"] is None and row["redacted"] == ["body"]


def test_new_endpoints_need_a_role(world, db):
    """An account with no role reads none of them; nor does an anonymous caller."""
    nobody = clients.api_client(factories.user("nobody"))
    from rest_framework.test import APIClient

    for subject_type in ("position", "occurrence", "note"):
        assert nobody.get(ENDPOINTS[subject_type]).status_code == 403
        assert APIClient().get(ENDPOINTS[subject_type]).status_code in (401, 403)


@pytest.mark.parametrize("subject_type", ["position", "occurrence", "note"])
def test_list_queries_do_not_grow_with_rows(world, officer, subject_type):
    """A page of 1 row costs the same queries as a page of 6."""
    endpoint = ENDPOINTS[subject_type]
    # Signed in without a token: a token's use is stamped now and then, not per row.
    officer_client = clients.api_client(officer)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert officer_client.get(endpoint).status_code == 200
        return len(queries)

    count()  # The user's permissions are read once, at his first request.
    one = count()
    case, request = world["case"], world["request"]
    for index in range(5):
        if subject_type == "position":
            services.position_record(
                actor=factories.SYSTEM,
                request=request,
                party=world["party"],
                stance="supports",
                stated_on=world["position"].stated_on,
                source=world["source"],
            )
        elif subject_type == "occurrence":
            services.occurrence_record(
                actor=factories.SYSTEM,
                case=case,
                kind="medical",
                occurred_on=world["occurrence"].occurred_on,
                description=f"Check-up {index}",
                source=world["source"],
            )
        else:
            services.note_add(
                actor=factories.SYSTEM, case=case, body=f"Note {index}", source=world["source"]
            )
    assert count() == one
