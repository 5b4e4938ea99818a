"""Lists decide their ETag before reading their page (cases/api/conditional.py).

The promise, walked over every subject type's list (tests/support/subjects.py ENDPOINTS):
a list answers 304 to its own tag only while nothing it shows can have changed. A write
through the services to any subject type gives its list a new tag and a new body; a 304
from any list is only ever the body the client already holds; with no write every list
answers 304. A 304 costs a fixed number of queries, shows nothing and logs nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group

from cases import services
from cases.models import AccessLogEntry
from tests import factories
from tests.support.clients import token_client
from tests.support.roles import ANALYST, CASE_OFFICER, INTEGRATION, user_in_role
from tests.support.subjects import ENDPOINTS, build_world

pytestmark = pytest.mark.django_db

SYSTEM = factories.SYSTEM


def _place_services():
    from cases.places import services as place_services

    return place_services


def _identity_services():
    from cases.identity import services as identity

    return identity


def _notification_services():
    from cases.notifications import services as notifications

    return notifications


#: Subject type -> a write through the services that changes what its list shows.
WRITES = {
    "case": lambda w: services.case_update(actor=SYSTEM, case=w["case"], detention_place="Lviv"),
    "person": lambda w: services.person_update(actor=SYSTEM, person=w["person"], rank="Sergeant"),
    "party": lambda w: services.party_update(actor=SYSTEM, party=w["party"], short_name="KOR"),
    "source": lambda w: services.source_update(actor=SYSTEM, source=w["source"], reliability="C"),
    "statedintention": lambda w: factories.intention(w["case"], quote="I am still deciding"),
    "request": lambda w: services.request_transition(
        actor=SYSTEM, request=w["request"], status="under_review"
    ),
    "riskassessment": lambda w: services.risk_assessment_record(
        actor=SYSTEM,
        case=w["case"],
        level="low",
        basis="Amnesty announced",
        assessor="Protection officer",
        assessed_on=dt.date(2025, 4, 1),
    ),
    "position": lambda w: services.position_record(
        actor=SYSTEM,
        request=w["request"],
        party=w["party"],
        stance="supports",
        stated_on=dt.date(2025, 4, 2),
    ),
    "occurrence": lambda w: services.occurrence_record(
        actor=SYSTEM,
        case=w["case"],
        kind="icrc_visit",
        occurred_on=dt.date(2025, 4, 3),
        description="A second ICRC visit",
    ),
    "note": lambda w: services.note_add(actor=SYSTEM, case=w["case"], body="Jaw healing"),
    "place": lambda w: _place_services().place_update(
        actor=SYSTEM, place=w["place"], name="SBU facility, Kyiv (east wing)"
    ),
    "movement": lambda w: _place_services().movement_record(
        actor=SYSTEM,
        case=w["case"],
        from_place=w["place"],
        to_place=_place_services().place_create(
            actor=SYSTEM, name="Hospital, Kyiv", kind="hospital", detaining_party=w["party"]
        ),
        moved_on=dt.date(2025, 4, 4),
        kind="hospital_admission",
    ),
    "capturecard": lambda w: _place_services().capture_card_update(
        actor=SYSTEM, card=w["capturecard"], notes="Delivered by hand"
    ),
    "notification": lambda w: _notification_services().notifications_open(
        actor=SYSTEM, case=w["case"], reason="transfer"
    ),
    "notificationsettings": lambda w: _notification_services().notification_recipients_set(
        actor=SYSTEM, case=w["case"], recipients=[w["party"], w["case"].detaining_party]
    ),
    "task": lambda w: __import__("cases.tasks.services", fromlist=["task_open"]).task_open(
        actor=SYSTEM, case=w["case"], title="Chase the ICRC", due_on=dt.date(2025, 4, 4)
    ),
    "identitydocument": lambda w: _identity_services().identity_document_update(
        actor=SYSTEM, identitydocument=w["identitydocument"], genuineness="genuine"
    ),
    "externalidentifier": lambda w: _identity_services().external_identifier_record(
        actor=SYSTEM, person=w["person"], scheme="nib", value="NIB-7"
    ),
    "nationalityclaim": lambda w: _identity_services().nationality_claim_record(
        actor=SYSTEM, person=w["person"], country="RU", claimed_by=w["party"], basis="Passport"
    ),
    "document": lambda w: _attach_document(w),
    "exchange": lambda w: __import__(
        "cases.exchanges.services", fromlist=["exchange_update"]
    ).exchange_update(actor=SYSTEM, exchange=w["exchange"], notes="Postponed a week"),
    "handover": lambda w: _hand_over(w),
    "visit": lambda w: __import__("cases.visits.services", fromlist=["visit_update"]).visit_update(
        actor=SYSTEM, visit=w["visit"], place_text="Camp 2"
    ),
    "interview": lambda w: __import__(
        "cases.visits.services", fromlist=["interview_record"]
    ).interview_record(actor=SYSTEM, visit=w["visit"], case=w["case"], in_private=True),
}


def _hand_over(w):
    """Hand a third man over to South Korea, his verified wish and release in place first."""
    crossing = factories.case(reference="UA-2025-9003", person_obj=factories.person("Kim"))
    factories.verified_wish(crossing, "third_state", "KR")
    transfer = factories.advance_request(
        factories.request(crossing, kind="third_state_transfer", addressed_to=w["party"]),
        "scheduled",
    )
    factories.advance_case(crossing, "release_approved")
    return factories.handover(transfer)


def _attach_document(w):
    from cases.documents import services as documents
    from tests.documents.conftest import pdf, upload

    return documents.document_attach(
        actor=SYSTEM,
        case=w["case"],
        upload=upload("decision.pdf", pdf()),
        title="Decision",
        kind="decision",
    )


def test_every_subject_type_has_a_write():
    """A new subject type fails here until the walk below writes to it."""
    assert set(WRITES) == set(ENDPOINTS)


def _read_all(api) -> dict[str, tuple[str, bytes]]:
    seen = {}
    for subject_type, path in ENDPOINTS.items():
        response = api.get(path, {"archived": "include"} if subject_type == "case" else {})
        assert response.status_code == 200, (path, response.content[:300])
        seen[subject_type] = (response["ETag"], response.content)
    return seen


def _revalidate(api, subject_type: str, etag: str):
    params = {"archived": "include"} if subject_type == "case" else {}
    return api.get(ENDPOINTS[subject_type], params, HTTP_IF_NONE_MATCH=etag)


@pytest.fixture
def world():
    return build_world()


@pytest.fixture(params=[CASE_OFFICER, INTEGRATION])
def reader(request):
    """A reader who sees sensitive values, and one who gets them redacted."""
    return token_client(user_in_role(request.param))[0]


def test_without_a_write_every_list_answers_304(world, reader):
    """Nothing written: each list's own tag gets 304, with the tag and no body."""
    for subject_type, (etag, _body) in _read_all(reader).items():
        again = _revalidate(reader, subject_type, etag)
        assert again.status_code == 304, subject_type
        assert again.content == b"" and again["ETag"] == etag, subject_type


@pytest.mark.parametrize("written", sorted(WRITES))
def test_a_write_changes_its_list_and_no_list_answers_304_with_a_stale_body(world, reader, written):
    """After a write through the services to ``written``: its list answers 200 with a new
    body and a new tag; any list that still answers 304 holds exactly the body sent before."""
    before = _read_all(reader)
    WRITES[written](world)
    after = _read_all(reader)
    etag, body = before[written]
    response = _revalidate(reader, written, etag)
    assert response.status_code == 200, written
    assert response.content != body and response["ETag"] != etag, written
    for subject_type, (old_etag, old_body) in before.items():
        again = _revalidate(reader, subject_type, old_etag)
        if again.status_code == 304:
            assert after[subject_type][1] == old_body, (written, subject_type)
        else:
            assert again.status_code == 200, (written, subject_type)


def test_redacted_and_unredacted_readers_never_share_a_tag(world):
    """Readers who see different values get different tags for the same list."""
    officer = token_client(user_in_role(CASE_OFFICER))[0]
    analyst = token_client(user_in_role(ANALYST))[0]
    for subject_type, path in ENDPOINTS.items():
        tag = officer.get(path)["ETag"]
        assert analyst.get(path)["ETag"] != tag, subject_type
        assert analyst.get(path, HTTP_IF_NONE_MATCH=tag).status_code == 200, subject_type


def test_a_group_change_changes_the_tag(world):
    """A reader moved from one role to another gets a 200, not the other role's 304."""
    user = user_in_role(INTEGRATION)
    api = token_client(user)[0]
    first = api.get(ENDPOINTS["person"])
    assert api.get(ENDPOINTS["person"], HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    user.groups.set([Group.objects.get(name=CASE_OFFICER)])
    promoted = api.get(ENDPOINTS["person"], HTTP_IF_NONE_MATCH=first["ETag"])
    assert promoted.status_code == 200
    assert promoted["ETag"] != first["ETag"] and promoted.content != first.content


def test_the_query_string_is_normalised_and_part_of_the_tag(world, reader):
    """Parameters in another order share a tag; another filter or page size does not."""
    one = reader.get("/api/v1/cases/", {"status": "registered", "page_size": 10})
    two = reader.get("/api/v1/cases/?page_size=10&status=registered")
    assert one["ETag"] == two["ETag"]
    assert reader.get("/api/v1/cases/", {"status": "interned"})["ETag"] != one["ETag"]
    assert reader.get("/api/v1/cases/", {"page_size": 11})["ETag"] != one["ETag"]


def test_the_day_is_part_of_the_tag(world, reader, monkeypatch):
    """Deadlines are measured against today: a new day gives every list a new tag."""
    from cases import clocks

    first = reader.get("/api/v1/cases/")
    monkeypatch.setattr(clocks, "today", lambda: dt.date(2099, 1, 1))
    assert reader.get("/api/v1/cases/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


@pytest.mark.parametrize("subject_type", ["case", "person", "statedintention", "note"])
def test_a_304_costs_a_fixed_few_queries_and_logs_nothing(
    world, subject_type, django_assert_num_queries
):
    """A 304 is answered after authentication and permissions, with one query (the data
    state) and no list query; it shows nothing, so the access log gains nothing."""
    officer = token_client(user_in_role(CASE_OFFICER))[0]
    path = ENDPOINTS[subject_type]
    first = officer.get(path)
    logged = AccessLogEntry.objects.count()
    with django_assert_num_queries(1):
        again = officer.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert AccessLogEntry.objects.count() == logged
