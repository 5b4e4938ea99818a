"""Archive, not delete: the archive services, the API archive routes, the superuser purge."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import resolve
from rest_framework.test import APIClient

from cases import services
from cases.choices import Channel, EventKind
from cases.models import (
    AccessLogEntry,
    Case,
    Note,
    Occurrence,
    Person,
    PersonName,
    Position,
    Request,
    StatedIntention,
    TimelineEvent,
)
from cases.selectors import current_intention_for
from cases.services import Actor
from tests import factories as f
from tests.support.clients import api_client
from tests.support.roles import superuser, user_in_role

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _actor(user=None):
    return Actor(user=user, channel=Channel.ADMIN) if user else Actor.system("tests")


def _role_client(role: str | None, **kwargs) -> tuple[APIClient, object]:
    user = user_in_role(role, **kwargs)
    return api_client(user), user


def _full_case(reference="UA-2025-0901"):
    """Return a case with an intention, a request with a position, an occurrence and a note."""
    case = f.case(reference=reference)
    intention = f.intention(case, quote="I want to go to Seoul.")
    request = f.request(case)
    services.position_record(
        actor=f.SYSTEM,
        request=request,
        party=request.addressed_to,
        stance="supports",
        stated_on=dt.date(2025, 3, 1),
    )
    services.occurrence_record(
        actor=f.SYSTEM,
        case=case,
        kind="icrc_visit",
        occurred_on=dt.date(2025, 3, 2),
        description="x",
    )
    services.note_add(actor=f.SYSTEM, case=case, body="Relatives in Pyongyang.")
    return Case.objects.get(pk=case.pk), intention, request


# --------------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------------


def test_case_archive_stamps_the_row_and_appends_one_event():
    """Archiving sets archived_at, bumps the version and appends case.archived with the reason."""
    case = f.case()
    before = TimelineEvent.objects.count()
    archived = services.case_archive(actor=f.SYSTEM, case=case, reason="Entered twice")
    assert archived.archived_at is not None
    assert archived.version == case.version + 1
    assert TimelineEvent.objects.count() == before + 1
    event = TimelineEvent.objects.latest("id")
    assert event.kind == EventKind.CASE_ARCHIVED
    assert event.case_id == case.pk
    assert event.reason == "Entered twice"
    assert event.changes["archived_at"][0] is None


def test_case_unarchive_reverses_it():
    """Unarchiving clears archived_at and appends case.unarchived."""
    case = services.case_archive(actor=f.SYSTEM, case=f.case(), reason="Entered twice")
    back = services.case_unarchive(actor=f.SYSTEM, case=case)
    assert back.archived_at is None
    assert TimelineEvent.objects.latest("id").kind == EventKind.CASE_UNARCHIVED


def test_archive_needs_a_reason_and_writes_nothing_without_one():
    """A blank reason is refused, and neither the row nor the timeline changes."""
    case = f.case()
    before = TimelineEvent.objects.count()
    with pytest.raises(ValidationError):
        services.case_archive(actor=f.SYSTEM, case=case, reason="  ")
    assert Case.objects.get(pk=case.pk).archived_at is None
    assert TimelineEvent.objects.count() == before


def test_archive_twice_and_unarchive_of_a_live_row_are_refused():
    """Archiving an archived row, or unarchiving a live one, is an error."""
    case = f.case()
    with pytest.raises(ValidationError):
        services.case_unarchive(actor=f.SYSTEM, case=case)
    services.case_archive(actor=f.SYSTEM, case=case, reason="x")
    with pytest.raises(ValidationError):
        services.case_archive(actor=f.SYSTEM, case=case, reason="x")


def test_archive_checks_the_version():
    """A stale expected_version is refused with StaleObjectError."""
    case = f.case()
    with pytest.raises(services.StaleObjectError):
        services.case_archive(actor=f.SYSTEM, case=case, reason="x", expected_version=99)


@pytest.mark.parametrize(
    ("archive", "unarchive", "kinds"),
    [
        ("person_archive", "person_unarchive", ("person.archived", "person.unarchived")),
        ("request_archive", "request_unarchive", ("request.archived", "request.unarchived")),
        (
            "intention_archive",
            "intention_unarchive",
            ("intention.archived", "intention.unarchived"),
        ),
    ],
)
def test_person_request_intention_archive_round_trip(archive, unarchive, kinds):
    """Each archivable row is archived and unarchived with one event each, on its case."""
    case = f.case()
    rows = {
        "person_archive": ("person", case.person),
        "request_archive": ("request", f.request(case)),
        "intention_archive": ("intention", f.intention(case)),
    }
    keyword, row = rows[archive]
    archived = getattr(services, archive)(actor=f.SYSTEM, reason="duplicate", **{keyword: row})
    assert archived.archived_at is not None
    event = TimelineEvent.objects.latest("id")
    assert (event.kind, event.case_id, event.subject_uuid) == (kinds[0], case.pk, row.uuid)
    back = getattr(services, unarchive)(actor=f.SYSTEM, **{keyword: archived})
    assert back.archived_at is None
    assert TimelineEvent.objects.latest("id").kind == kinds[1]


def test_archived_intention_stops_being_current():
    """The current intention ignores archived statements, and comes back on unarchive."""
    case = f.case()
    older = f.intention(case, stated_on=dt.date(2025, 1, 1), destination_country="KR")
    newer = f.intention(case, stated_on=dt.date(2025, 2, 1), destination_country="DE")
    assert Case.objects.get(pk=case.pk).current_intention_id == newer.pk
    services.intention_archive(actor=f.SYSTEM, intention=newer, reason="entered on wrong case")
    case.refresh_from_db()
    assert case.current_intention_id == older.pk
    assert current_intention_for(case) == older
    assert "current_intention" in TimelineEvent.objects.latest("id").changes
    services.intention_unarchive(actor=f.SYSTEM, intention=newer)
    case.refresh_from_db()
    assert case.current_intention_id == newer.pk


# --------------------------------------------------------------------------------------------
# The API: archive routes and the archived filter
# --------------------------------------------------------------------------------------------


def test_api_archive_and_unarchive_a_case_with_the_change_permission():
    """A case officer archives with a reason; the list hides it, the uuid still reads it."""
    client, _user = _role_client("case officer")
    case = f.case()
    url = f"{API}/cases/{case.uuid}/"
    response = client.post(f"{url}archive/", {"reason": "duplicate"}, format="json")
    assert response.status_code == 200, response.content
    assert response.data["archived_at"] is not None
    listed = client.get(f"{API}/cases/").data["results"]
    assert str(case.uuid) not in {row["uuid"] for row in listed}
    only = client.get(f"{API}/cases/", {"archived": "only"}).data["results"]
    assert {row["uuid"] for row in only} == {str(case.uuid)}
    assert only[0]["archived_at"] is not None
    detail = client.get(url)
    assert detail.status_code == 200
    assert detail.data["archived_at"] is not None  # read by uuid, and marked archived
    response = client.post(f"{url}unarchive/", {}, format="json")
    assert response.status_code == 200
    assert response.data["archived_at"] is None
    listed = client.get(f"{API}/cases/").data["results"]
    assert str(case.uuid) in {row["uuid"] for row in listed}


def test_api_archive_without_reason_is_400_and_unknown_filter_value_is_400():
    """A missing reason and an unknown archived value are explained, not ignored."""
    client, _user = _role_client("case officer")
    case = f.case()
    assert client.post(f"{API}/cases/{case.uuid}/archive/", {}, format="json").status_code == 400
    response = client.get(f"{API}/cases/", {"archived": "maybe"})
    assert response.status_code == 400
    assert "exclude" in str(response.data)


@pytest.mark.parametrize("resource", ["persons", "intentions", "requests"])
def test_api_archive_routes_of_the_other_resources(resource):
    """Persons, intentions and requests have the same routes and filter."""
    client, _user = _role_client("case officer")
    case = f.case()
    row = {
        "persons": case.person,
        "intentions": f.intention(case),
        "requests": f.request(case),
    }[resource]
    url = f"{API}/{resource}/{row.uuid}/"
    assert client.post(f"{url}archive/", {"reason": "dup"}, format="json").status_code == 200
    ids = {r["uuid"] for r in client.get(f"{API}/{resource}/").data["results"]}
    assert str(row.uuid) not in ids
    ids = {
        r["uuid"] for r in client.get(f"{API}/{resource}/", {"archived": "include"}).data["results"]
    }
    assert str(row.uuid) in ids
    assert client.get(url).status_code == 200
    assert client.post(f"{url}unarchive/", {}, format="json").status_code == 200


@pytest.mark.parametrize("role", ["analyst", "integration"])
def test_api_archive_needs_the_change_permission(role):
    """Readers without change_case get 403 and nothing is written."""
    client, _user = _role_client(role)
    case = f.case()
    before = TimelineEvent.objects.count()
    response = client.post(f"{API}/cases/{case.uuid}/archive/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert TimelineEvent.objects.count() == before


def test_api_archive_stale_version_is_412():
    """An If-Match that is not the row's version is refused."""
    client, _user = _role_client("case officer")
    case = f.case()
    response = client.post(
        f"{API}/cases/{case.uuid}/archive/", {"reason": "x"}, format="json", HTTP_IF_MATCH='"9"'
    )
    assert response.status_code == 412


@pytest.mark.parametrize(
    ("resource", "viewset"),
    [
        ("cases", "CaseViewSet"),
        ("persons", "PersonViewSet"),
        ("intentions", "IntentionViewSet"),
        ("requests", "RequestViewSet"),
    ],
)
def test_archive_routes_are_actions_of_the_resources_viewsets(resource, viewset):
    """Archive and unarchive are the resource's own actions, not views made per resource."""
    from cases.api import views

    row_uuid = "00000000-0000-4000-8000-000000000000"
    for verb in ("archive", "unarchive"):
        match = resolve(f"{API}/{resource}/{row_uuid}/{verb}/")
        assert match.func.cls is getattr(views, viewset)
        assert match.func.actions == {"post": verb}
        assert match.url_name == f"{resource[:-1]}-{verb}"
    purge = resolve(f"{API}/cases/{row_uuid}/purge/")
    assert purge.func.cls is views.CaseViewSet and purge.func.actions == {"post": "purge"}


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_archive_routes_refuse_other_methods_plainly(method):
    """Only POST archives; other methods get 405 and DRF's own sentence, as they always did."""
    client, _user = _role_client("case officer")
    intention = f.intention(f.case())
    for verb in ("archive", "unarchive"):
        response = getattr(client, method)(f"{API}/intentions/{intention.uuid}/{verb}/")
        assert response.status_code == 405
        assert response.data["detail"] == f'Method "{method.upper()}" not allowed.'
    assert StatedIntention.objects.get(pk=intention.pk).archived_at is None


def test_api_delete_stays_impossible():
    """DELETE is refused on every resource, even for a superuser."""
    client, _user = _role_client(None, is_superuser=True, is_staff=True)
    case = f.case()
    assert client.delete(f"{API}/cases/{case.uuid}/").status_code == 405
    assert Case.objects.filter(pk=case.pk).exists()


# --------------------------------------------------------------------------------------------
# Purge
# --------------------------------------------------------------------------------------------


def test_raw_delete_of_an_event_is_still_refused():
    """Without the purge's transaction-local flag the database refuses a DELETE and an UPDATE."""
    f.case()
    with pytest.raises((IntegrityError, DatabaseError)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_timelineevent")
    with pytest.raises((IntegrityError, DatabaseError)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE cases_timelineevent SET summary = 'x'")
    assert TimelineEvent.objects.exists()


def test_purge_flag_does_not_outlive_the_purge():
    """After a purge in the same transaction, a raw DELETE is refused again."""
    root = superuser()
    case, _i, _r = _full_case()
    f.case(reference="UA-2025-0902")
    services.case_purge(actor=_actor(root), case=case, reason="entered in error")
    with pytest.raises((IntegrityError, DatabaseError)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_timelineevent")


def test_purge_removes_the_case_and_all_it_owns_and_leaves_a_tombstone():
    """Every row of the case goes, the person too when alone; the tombstone names only the ref."""
    root = superuser()
    case, intention, request = _full_case()
    person = case.person
    keep = f.case(reference="UA-2025-0903")
    f.intention(keep)
    AccessLogEntry.objects.bulk_create(
        [
            AccessLogEntry(
                response_id=intention.uuid,
                channel="api",
                object_type="statedintention",
                object_uuid=intention.uuid,
            )
        ]
    )
    tombstone = services.case_purge(actor=_actor(root), case=case, reason="entered in error")
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not Person.objects.filter(pk=person.pk).exists()
    assert not PersonName.objects.filter(person_id=person.pk).exists()
    assert not StatedIntention.objects.filter(case_id=case.pk).exists()
    assert not Request.objects.filter(case_id=case.pk).exists()
    assert not Position.objects.filter(request_id=request.pk).exists()
    assert not Occurrence.objects.filter(case_id=case.pk).exists()
    assert not Note.objects.filter(case_id=case.pk).exists()
    assert not TimelineEvent.objects.filter(person_id=person.pk).exists()
    assert (
        not TimelineEvent.objects.exclude(pk=tombstone.pk).filter(subject_uuid=case.uuid).exists()
    )
    # The other case and its history are untouched.
    assert Case.objects.filter(pk=keep.pk).exists()
    assert TimelineEvent.objects.filter(case=keep).count() == 2
    assert tombstone.kind == EventKind.CASE_PURGED
    assert tombstone.case_id is None and tombstone.person_id is None
    assert tombstone.subject_type == "case" and tombstone.subject_uuid == case.uuid
    assert tombstone.changes == {"reference": ["UA-2025-0901", None]}
    assert "Seoul" not in tombstone.summary and "Pyongyang" not in tombstone.summary
    # The access log keeps its record of the read.
    assert AccessLogEntry.objects.filter(object_uuid=intention.uuid).exists()


def test_purge_keeps_a_person_another_case_refers_to():
    """A person held in two cases stays when one of them is purged."""
    root = superuser()
    first = f.case()
    second = f.case(person_obj=first.person)
    services.case_purge(actor=_actor(root), case=first, reason="duplicate")
    assert Person.objects.filter(pk=first.person_id).exists()
    assert Case.objects.filter(pk=second.pk).exists()
    assert TimelineEvent.objects.filter(kind=EventKind.PERSON_CREATED, person=first.person).exists()


def test_purge_is_for_superusers_only():
    """A case officer (or the system) cannot purge; nothing is deleted."""
    officer = f.user()
    case = f.case()
    with pytest.raises(services.PurgeRefused):
        services.case_purge(actor=_actor(officer), case=case, reason="x")
    with pytest.raises(services.PurgeRefused):
        services.case_purge(actor=f.SYSTEM, case=case, reason="x")
    assert Case.objects.filter(pk=case.pk).exists()


def test_api_purge_superuser_only_with_confirmation_and_the_feed_serves_the_tombstone(
    monkeypatch,
):
    """403 for a case officer, 400 without the right reference, 200 and a tombstone otherwise."""
    from cases.feed import cursor as feed

    # The test's transaction never commits; widen the PostgreSQL watermark to include it
    # (as tests/feed/test_api_feed.py does for its non-transactional tests).
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")
    case, _i, _r = _full_case()
    officer_client, _u = _role_client("case officer")
    url = f"{API}/cases/{case.uuid}/purge/"
    body = {"reason": "entered in error", "confirm_reference": case.reference}
    assert officer_client.post(url, body, format="json").status_code == 403
    assert Case.objects.filter(pk=case.pk).exists()
    root_client, _root = _role_client(None, is_superuser=True, is_staff=True)
    wrong = {"reason": "entered in error", "confirm_reference": "UA-2025-0000"}
    assert root_client.post(url, wrong, format="json").status_code == 400
    assert Case.objects.filter(pk=case.pk).exists()
    response = root_client.post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert not Case.objects.filter(pk=case.pk).exists()
    assert root_client.get(f"{API}/cases/{case.uuid}/").status_code == 404
    feed = officer_client.get(f"{API}/events/", {"limit": 500}).json()
    tombstones = [e for e in feed["results"] if e["kind"] == "case.purged"]
    assert len(tombstones) == 1
    assert tombstones[0]["changes"] == {"reference": [case.reference, None]}
    assert tombstones[0]["subject_uuid"] == str(case.uuid)
    kinds = {e["kind"] for e in feed["results"]}
    assert "note.added" not in kinds
