"""Events name their subject by type, id and version, and the hash covers what they carry.

The feed filters on ``subject_type`` (one of the documented types; anything else is a 400)
and ``subject_uuid``. Events written before they carried a version and a representation
(chain format 1) keep verifying beside newer ones (format 2), and removing a newer event's
representation, or passing it off as an old one, breaks its hash.
"""

from __future__ import annotations

import pytest

from cases import services
from cases.feed import cursor as feed
from cases.models import TimelineEvent
from cases.timeline import chain as timeline_chain
from tests import factories
from tests.support import clients
from tests.timeline.test_timeline_chain import (
    as_owner_without_guards,
    broken,
    case_with_notes,
    event,
    verify,
)

pytestmark = pytest.mark.django_db

FEED = "/api/v1/events/"


@pytest.fixture(autouse=True)
def _see_own_transaction(request, monkeypatch):
    """Serve the test's own uncommitted events from the feed (see tests/feed/test_api_feed.py)."""
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


def _served(client, **query) -> list[dict]:
    response = client.get(FEED, {"limit": 500, **query})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_feed_filters_by_subject_type_and_uuid(officer):
    """Only events about the named types, or the named subject, are served."""
    client = clients.api_client(officer)
    case = factories.case()
    note = services.note_add(actor=factories.SYSTEM, case=case, body="First")
    services.case_change_status(actor=factories.SYSTEM, case=case, status="registered")
    notes = _served(client, subject_type="note")
    assert [e["subject_uuid"] for e in notes] == [str(note.uuid)]
    both = _served(client, subject_type=["note", "case"])
    assert {e["subject_type"] for e in both} == {"note", "case"}
    about_case = _served(client, subject_uuid=str(case.uuid))
    assert [e["kind"] for e in about_case] == ["case.opened", "case.status_changed"]


@pytest.mark.parametrize(
    "query",
    [{"subject_type": "prisoner"}, {"subject_type": "Case"}, {"subject_uuid": "not-a-uuid"}],
)
def test_feed_refuses_unknown_subject_types_and_bad_ids(officer, query):
    """An unknown type or a malformed id is a 400 naming the parameter, never an empty page."""
    response = clients.api_client(officer).get(FEED, query)
    assert response.status_code == 400
    assert set(query) <= {error["field"] for error in response.json()["errors"]}


def test_subject_version_is_the_rows_version_after_the_change(officer):
    """A versioned subject's events carry its version after each change; others carry null."""
    client = clients.api_client(officer)
    case = factories.case()
    services.case_change_status(actor=factories.SYSTEM, case=case, status="registered")
    services.case_update(actor=factories.SYSTEM, case=case, detention_place="Kyiv")
    services.note_add(actor=factories.SYSTEM, case=case, body="A note")
    events = _served(client, case=str(case.uuid))
    assert [(e["kind"], e["subject_version"]) for e in events] == [
        ("case.opened", 1),
        ("case.status_changed", 2),
        ("case.updated", 3),
        ("note.added", None),
    ]
    assert [e["object"]["version"] for e in events[:3]] == [1, 2, 3]
    assert events[2]["object"]["detention_place"] == "Kyiv"


def test_references_in_changes_carry_ids_beside_labels_and_countries_codes(officer):
    """A change naming a row gives its uuid and label; a country is its code."""
    client = clients.api_client(officer)
    kpa = factories.party("Korean People's Army", kind="armed_force", country="KP")
    person = factories.person("Baek", armed_force=kpa, nationalities=["KP"])
    created = _served(client, subject_uuid=str(person.uuid))[0]
    assert created["changes"]["armed_force"] == [None, {"uuid": str(kpa.uuid), "label": kpa.name}]
    assert created["changes"]["nationalities"] == [None, ["KP"]]


def test_old_and_new_chain_formats_verify_side_by_side(monkeypatch):
    """Events hashed before the format covered the representation still verify."""
    monkeypatch.setattr(timeline_chain, "FORMAT_VERSION", 1)
    case = case_with_notes("UA-2025-0301", notes=2)
    monkeypatch.undo()
    services.note_add(actor=factories.SYSTEM, case=case, body="Under format 2")
    formats = list(
        TimelineEvent.objects.filter(case=case)
        .order_by("case_seq")
        .values_list("chain_format", flat=True)
    )
    assert formats == [1, 1, 1, 2]
    assert "events" in verify()


def test_removing_a_representation_breaks_the_hash():
    """An owner who strips a new event's representation (or its version) is found."""
    case = case_with_notes("UA-2025-0302", notes=1)
    target = event(case, 2)
    assert target.chain_format == 2 and target.object is not None
    with as_owner_without_guards() as cursor:
        cursor.execute("UPDATE cases_timelineevent SET object = NULL WHERE id = %s", [target.pk])
    assert f"event {target.uuid}" in broken()


def test_passing_a_new_event_off_as_old_breaks_the_hash():
    """Lowering ``chain_format`` to leave the representation out of the check is found."""
    case = case_with_notes("UA-2025-0303", notes=1)
    target = event(case, 2)
    with as_owner_without_guards() as cursor:
        cursor.execute("UPDATE cases_timelineevent SET chain_format = 1 WHERE id = %s", [target.pk])
    assert f"event {target.uuid}" in broken()
