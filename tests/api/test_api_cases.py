"""The cases resource: representation, every filter, writes through services, locking."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from cases import services
from cases.models import Case, TimelineEvent
from tests import factories as f
from tests.support.clients import field_errors, references, results
from tests.support.worlds import ri_and_baek

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"
#: The case list reads the page's name variants with its rows on PostgreSQL, apart elsewhere.
NAMES_QUERY = 0 if connection.vendor == "postgresql" else 1
#: The nationality filter reads its table's statistics on PostgreSQL (kept for a while by
#: each process; every test starts without them).
NATIONALITY_STATISTICS = 1 if connection.vendor == "postgresql" else 0


# --------------------------------------------------------------------------------------------
# Representation
# --------------------------------------------------------------------------------------------


def test_anonymous_caller_gets_401():
    """Nothing is readable without signing in."""
    from rest_framework.test import APIClient

    assert APIClient().get(CASES).status_code == 401


def test_list_item_carries_what_a_list_shows(analyst_client):
    """A list item holds person, party, capture, current intention, open requests, version."""
    ri_case, _ = ri_and_baek()
    f.intention(ri_case)
    f.request(ri_case, kind="third_state_transfer")
    f.request(ri_case, draft=True)
    row = results(analyst_client.get(CASES, {"q": "UA-2025-0001"}))[0]
    assert row["reference"] == "UA-2025-0001"
    assert row["status"] == "captured"
    assert row["legal_status"] == "pow"
    assert row["person"]["uuid"] == str(ri_case.person.uuid)
    assert row["person"]["working_name"] == "Ri"
    # None of the variants is a pseudonym, so an analyst sees none of them.
    assert row["person"]["names"] == [] and row["person"]["redacted"] == ["names"]
    assert row["detaining_party"] == {"uuid": str(ri_case.detaining_party.uuid), "name": "Ukraine"}
    assert row["capture_date"] == "2025-01-09"
    assert row["capture_date_precision"] == "day"
    assert row["current_intention"]["option"] == "third_state"
    assert row["current_intention"]["destination_country"] == "KR"
    assert row["current_intention"]["verification"] == "stated"
    assert row["current_intention"]["verified"] is False
    assert row["current_intention"]["stated_on"] == "2025-02-25"
    assert row["open_request_count"] == 1  # the draft is not open yet
    assert row["version"] == 1
    assert row["url"].endswith(f"/api/v1/cases/{ri_case.uuid}/")
    assert "updated_at" in row
    assert "id" not in row


def test_detail_adds_intentions_requests_positions_sources_and_etag(analyst_client):
    """A case's page holds its statements, requests with positions, and cited sources."""
    ri_case, _ = ri_and_baek()
    report = f.source("Yonhap report")
    f.intention(ri_case, source=report)
    req = f.request(ri_case, kind="third_state_transfer")
    korea = f.party("South Korea", country="KR")
    services.position_record(
        actor=f.SYSTEM, request=req, party=korea, stance="accepts", stated_on=dt.date(2025, 3, 1)
    )
    response = analyst_client.get(f"{CASES}{ri_case.uuid}/")
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert [i["option"] for i in body["intentions"]] == ["third_state"]
    assert body["requests"][0]["positions"][0]["party"]["name"] == "South Korea"
    assert body["requests"][0]["positions"][0]["stance"] == "accepts"
    assert body["sources"] == [{"uuid": str(report.uuid), "title": "Yonhap report"}]
    assert body["timeline"].endswith(f"/api/v1/cases/{ri_case.uuid}/timeline/")


def test_unknown_and_malformed_ids_are_404(analyst_client):
    """A missing case and a malformed id both answer 404, never 500."""
    assert analyst_client.get(f"{CASES}00000000-0000-0000-0000-000000000000/").status_code == 404
    assert analyst_client.get(f"{CASES}not-a-uuid/").status_code == 404
    assert analyst_client.get(f"{CASES}1/").status_code == 404


def test_page_size_is_honoured_and_capped(analyst_client):
    """``page_size`` picks the page length, from 1 to 500; beyond is a 400 naming it."""
    ri_and_baek()
    body = analyst_client.get(CASES, {"page_size": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]
    assert len(results(analyst_client.get(CASES, {"page_size": 500}))) == 2
    assert "page_size" in field_errors(analyst_client.get(CASES, {"page_size": 100000}))


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Lee", ["UA-2025-0001"]),
        ("Yi", ["UA-2025-0001"]),
        ("리", ["UA-2025-0001"]),
        ("ri", ["UA-2025-0001"]),
        ("Paek", ["UA-2025-0002"]),
        ("백", ["UA-2025-0002"]),
        ("UA-2025-0002", ["UA-2025-0002"]),
        ("nobody", []),
    ],
)
def test_q_searches_every_name_variant_and_the_reference(officer_client, query, expected):
    """``q`` finds Ri by Lee, Yi and 리, Baek by Paek, and a case by its reference."""
    ri_and_baek()
    assert references(officer_client.get(CASES, {"q": query})) == expected


def test_q_does_not_repeat_a_case_matching_several_variants(officer_client):
    """A case whose person has several matching variants is listed once."""
    ri_and_baek()
    # "Lee" expands to ri, yi, 리 ...: four of Ri's variants match it.
    body = officer_client.get(CASES, {"q": "Lee"}).json()
    assert body["count"] == 1
    assert [row["reference"] for row in body["results"]] == ["UA-2025-0001"]


def test_status_filter_takes_repeated_and_comma_separated_values(analyst_client):
    """``status`` accepts several values, repeated or comma-separated."""
    ri_case, baek_case = ri_and_baek()
    f.advance_case(ri_case, "interned")
    f.advance_case(baek_case, "hospitalised")
    f.case(reference="UA-2025-0003")
    assert references(analyst_client.get(CASES, {"status": "interned"})) == ["UA-2025-0001"]
    both = ["UA-2025-0001", "UA-2025-0002"]
    assert references(analyst_client.get(f"{CASES}?status=interned&status=hospitalised")) == both
    assert references(analyst_client.get(CASES, {"status": "interned,hospitalised"})) == both


@pytest.mark.parametrize(
    ("param", "allowed_sample"),
    [
        ("status", "release_approved"),
        ("legal_status", "presumed_pow"),
        ("current_intention", "third_state"),
        ("request_kind", "third_state_transfer"),
        ("request_status", "under_review"),
        ("ordering", "-capture_date"),
        ("intention_verified", "true"),
    ],
)
def test_unknown_choice_value_is_400_naming_the_allowed_values(
    analyst_client, param, allowed_sample
):
    """An unknown value is refused with a message listing what is allowed."""
    response = analyst_client.get(CASES, {param: "bogus"})
    assert response.status_code == 400
    message = field_errors(response)[param][0]
    assert "bogus" in message
    assert allowed_sample in message


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("detaining_party", "not-a-uuid"),
        ("captured_after", "2025-13-01"),
        ("captured_before", "yesterday"),
        ("updated_after", "not a time"),
        ("nationality", "XX"),
        ("destination_country", "ZZ"),
    ],
)
def test_malformed_filter_values_are_400(analyst_client, param, value):
    """Bad ids, dates and country codes are a 400 naming the parameter, never a 500."""
    response = analyst_client.get(CASES, {param: value})
    assert response.status_code == 400
    assert param in field_errors(response)


def test_legal_status_filter(analyst_client):
    """``legal_status`` picks cases by status under IHL."""
    ri_and_baek()
    assert references(analyst_client.get(CASES, {"legal_status": "presumed_pow"})) == [
        "UA-2025-0002"
    ]
    assert len(results(analyst_client.get(CASES, {"legal_status": "pow,presumed_pow"}))) == 2


def test_detaining_party_filter_takes_several_ids(analyst_client):
    """``detaining_party`` matches any of the given party ids."""
    ri_and_baek()
    russia = f.party("Russia", country="RU")
    f.case(reference="RU-2025-0001", detaining_party=russia)
    f.case(reference="XX-2025-0001")
    ukraine = Case.objects.get(reference="UA-2025-0001").detaining_party
    assert references(analyst_client.get(CASES, {"detaining_party": russia.uuid})) == [
        "RU-2025-0001"
    ]
    both = analyst_client.get(
        f"{CASES}?detaining_party={russia.uuid}&detaining_party={ukraine.uuid}"
    )
    assert references(both) == ["RU-2025-0001", "UA-2025-0001", "UA-2025-0002"]
    unknown = analyst_client.get(CASES, {"detaining_party": "00000000-0000-0000-0000-000000000000"})
    assert unknown.status_code == 400


def test_nationality_filter_matches_one_of_several_codes(analyst_client):
    """``nationality`` matches a person holding that nationality among others."""
    ri_and_baek()
    dual = f.person("Kim", names=[], nationalities=["RU", "KP"])
    f.case(reference="UA-2025-0003", person_obj=dual)
    f.case(reference="UA-2025-0004", person_obj=f.person("Ivan", names=[], nationalities=["RU"]))
    assert references(analyst_client.get(CASES, {"nationality": "kp"})) == [
        "UA-2025-0001",
        "UA-2025-0002",
        "UA-2025-0003",
    ]
    assert references(analyst_client.get(CASES, {"nationality": "RU"})) == [
        "UA-2025-0003",
        "UA-2025-0004",
    ]


def test_intention_filters(analyst_client):
    """``current_intention``, ``intention_verified`` and ``destination_country`` read the
    current intention."""
    ri_case, baek_case = ri_and_baek()
    f.intention(ri_case)  # third state KR, stated
    f.intention(baek_case, option="undecided", destination_country="")
    verified = f.case(reference="UA-2025-0003")
    f.intention(verified, verification="verified", setting="private_neutral_interview")
    assert references(analyst_client.get(CASES, {"current_intention": "undecided"})) == [
        "UA-2025-0002"
    ]
    assert references(analyst_client.get(CASES, {"intention_verified": "true"})) == ["UA-2025-0003"]
    assert references(analyst_client.get(CASES, {"intention_verified": "false"})) == [
        "UA-2025-0001",
        "UA-2025-0002",
    ]
    assert references(analyst_client.get(CASES, {"destination_country": "KR"})) == [
        "UA-2025-0001",
        "UA-2025-0003",
    ]


def test_request_filters_match_one_request_and_never_repeat_a_case(analyst_client):
    """``request_kind`` with ``request_status`` needs one request with both; rows are unique."""
    ri_case, baek_case = ri_and_baek()
    f.request(ri_case, kind="third_state_transfer")
    f.request(ri_case, kind="third_state_transfer")
    f.request(ri_case, kind="medical_treatment", draft=True)
    f.request(baek_case, kind="medical_treatment")
    kind = analyst_client.get(CASES, {"request_kind": "third_state_transfer"})
    assert references(kind) == ["UA-2025-0001"]
    assert references(analyst_client.get(CASES, {"request_status": "draft"})) == ["UA-2025-0001"]
    combined = analyst_client.get(
        CASES, {"request_kind": "medical_treatment", "request_status": "filed"}
    )
    assert references(combined) == ["UA-2025-0002"]
    either = analyst_client.get(CASES, {"request_kind": "medical_treatment,third_state_transfer"})
    assert references(either) == ["UA-2025-0001", "UA-2025-0002"]


def test_capture_and_update_date_filters(analyst_client):
    """Capture bounds are inclusive ISO dates; ``updated_after`` an ISO date-time."""
    ri_and_baek()
    assert references(analyst_client.get(CASES, {"captured_after": "2025-01-10"})) == [
        "UA-2025-0002"
    ]
    assert references(analyst_client.get(CASES, {"captured_before": "2025-01-09"})) == [
        "UA-2025-0001"
    ]
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert references(analyst_client.get(CASES, {"updated_after": later})) == []
    assert len(results(analyst_client.get(CASES, {"updated_after": "2025-01-01T00:00:00Z"}))) == 2


def test_ordering(analyst_client):
    """``ordering`` sorts by reference, capture date, update time or status, - for descending."""
    ri_case, _ = ri_and_baek()
    f.advance_case(ri_case, "registered")
    assert references(analyst_client.get(CASES, {"ordering": "-capture_date"})) == [
        "UA-2025-0002",
        "UA-2025-0001",
    ]
    assert references(analyst_client.get(CASES, {"ordering": "-reference"})) == [
        "UA-2025-0002",
        "UA-2025-0001",
    ]
    assert references(analyst_client.get(CASES, {"ordering": "status"})) == [
        "UA-2025-0002",  # captured
        "UA-2025-0001",  # registered
    ]
    assert references(analyst_client.get(CASES, {"ordering": "-updated_at"}))[0] == "UA-2025-0001"


# --------------------------------------------------------------------------------------------
# Writes
# --------------------------------------------------------------------------------------------


def _last_event(case_uuid):
    return TimelineEvent.objects.filter(case__uuid=case_uuid).order_by("-case_seq").first()


def test_open_a_case_through_the_service(officer_client):
    """POST opens a case; the timeline names the token user and the reason."""
    person = f.person("Kim", names=[])
    party = f.party("Ukraine")
    response = officer_client.post(
        CASES,
        {
            "reference": "UA-2025-0042",
            "person": str(person.uuid),
            "detaining_party": str(party.uuid),
            "legal_status": "pow",
            "capture_date": "2025-01-09",
            "capture_place": "Kursk region",
            "capture_place_code": "RU-KRS",
            "reason": "Reported by the SBU",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "UA-2025-0042" and body["capture_place_code"] == "RU-KRS"
    assert response["ETag"] == '"1"'
    event = _last_event(body["uuid"])
    assert event.kind == "case.opened"
    assert event.channel == "api"
    assert event.actor.username == "officer"
    assert event.actor_label == f"officer (API token {officer_client.token.prefix})"
    assert event.reason == "Reported by the SBU"


def test_service_validation_errors_are_400_with_field_messages(officer_client):
    """A reference in the wrong form comes back as a field message, nothing is written."""
    response = officer_client.post(
        CASES,
        {
            "reference": "bad",
            "person": str(f.person().uuid),
            "detaining_party": str(f.party().uuid),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "UA-2025-0001" in field_errors(response)["reference"][0]
    assert not Case.objects.filter(reference="bad").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"surprise": 1}, "surprise"),
        ({"person": "not-a-uuid"}, "person"),
        ({"person": "00000000-0000-0000-0000-000000000000"}, "person"),
        ({"capture_date": "09/01/2025x"}, "capture_date"),
        ({"legal_status": "hostage"}, "legal_status"),
    ],
)
def test_bad_input_is_400_naming_the_field(officer_client, body, field):
    """Unknown fields, bad ids, dates and choices are 400s that name the field."""
    data = {
        "reference": "UA-2025-0050",
        "person": str(f.person().uuid),
        "detaining_party": str(f.party().uuid),
    }
    data.update(body)
    response = officer_client.post(CASES, data, format="json")
    assert response.status_code == 400
    assert field in field_errors(response)


def test_non_object_body_is_400(officer_client):
    """A JSON list instead of an object is a 400."""
    response = officer_client.post(CASES, [1, 2], format="json")
    assert response.status_code == 400


def test_patch_with_if_match_updates_and_bumps_the_version(officer_client):
    """PATCH with the current ETag changes the case and returns the new ETag."""
    ri_case, _ = ri_and_baek()
    url = f"{CASES}{ri_case.uuid}/"
    response = officer_client.patch(
        url,
        {"detention_place": "Camp 1", "reason": "Moved"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200, response.content
    assert response.json()["detention_place"] == "Camp 1"
    assert response["ETag"] == '"2"'
    event = _last_event(ri_case.uuid)
    assert event.kind == "case.updated"
    assert event.changes == {"detention_place": ["", "Camp 1"]}
    assert event.reason == "Moved"


def test_version_field_works_like_if_match(officer_client):
    """A ``version`` field in the body is the alternative to If-Match."""
    ri_case, _ = ri_and_baek()
    response = officer_client.patch(
        f"{CASES}{ri_case.uuid}/", {"priority": "high", "version": 1}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2


def test_stale_version_is_412_with_the_current_version(officer_client):
    """A write based on an old version is refused; the body says which version is current."""
    ri_case, _ = ri_and_baek()
    services.case_update(actor=f.SYSTEM, case=ri_case, priority="high")  # a colleague's save
    response = officer_client.patch(
        f"{CASES}{ri_case.uuid}/", {"priority": "low"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    assert Case.objects.get(pk=ri_case.pk).priority == "high"


def test_missing_version_is_428(officer_client):
    """A write without a version is refused with 428; PUT too."""
    ri_case, _ = ri_and_baek()
    url = f"{CASES}{ri_case.uuid}/"
    assert officer_client.patch(url, {"priority": "low"}, format="json").status_code == 428
    put = officer_client.put(
        url,
        {"reference": "UA-2025-0001", "detaining_party": str(ri_case.detaining_party.uuid)},
        format="json",
    )
    assert put.status_code == 428


def test_put_replaces_details(officer_client):
    """PUT with the version replaces the writable details."""
    ri_case, _ = ri_and_baek()
    response = officer_client.put(
        f"{CASES}{ri_case.uuid}/",
        {
            "reference": "UA-2025-0001",
            "detaining_party": str(ri_case.detaining_party.uuid),
            "capture_place": "Kursk",
        },
        format="json",
        HTTP_IF_MATCH='W/"1"',
    )
    assert response.status_code == 200, response.content
    assert response.json()["capture_place"] == "Kursk"


def test_patch_cannot_change_status_or_person(officer_client):
    """The status moves through the transition endpoint; the person never changes."""
    ri_case, baek_case = ri_and_baek()
    response = officer_client.patch(
        f"{CASES}{ri_case.uuid}/",
        {"status": "interned", "person": str(baek_case.person.uuid)},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 400
    assert set(field_errors(response)) == {"status", "person"}


def test_bad_if_match_is_400(officer_client):
    """An If-Match that is not a version (or is *) is a 400."""
    ri_case, _ = ri_and_baek()
    response = officer_client.patch(
        f"{CASES}{ri_case.uuid}/", {"priority": "low"}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 400


def test_transition_changes_status_through_the_state_machine(officer_client):
    """POST .../transition/ moves the case; the event carries the reason."""
    ri_case, _ = ri_and_baek()
    url = f"{CASES}{ri_case.uuid}/transition/"
    response = officer_client.post(
        url, {"status": "registered", "reason": "Capture card sent"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "registered"
    event = _last_event(ri_case.uuid)
    assert event.kind == "case.status_changed" and event.reason == "Capture card sent"
    refused = officer_client.post(url, {"status": "released"}, format="json")
    assert refused.status_code == 400
    assert "Allowed from registered" in field_errors(refused)["status"][0]
    refused = officer_client.post(url, {"status": "repatriated"}, format="json")
    assert refused.status_code == 400
    assert "only through a handover" in field_errors(refused)["status"][0]
    stale = officer_client.post(url, {"status": "interned", "version": 1}, format="json")
    assert stale.status_code == 412 and stale.json()["current_version"] == 2


def test_delete_is_405_and_deletes_nothing(officer_client):
    """Nothing is deleted through the API."""
    ri_case, _ = ri_and_baek()
    response = officer_client.delete(f"{CASES}{ri_case.uuid}/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 405
    assert "never deleted" in response.json()["detail"]
    assert Case.objects.filter(pk=ri_case.pk).exists()


def test_analyst_may_read_but_not_write(analyst_client):
    """A user without the model permissions gets 403 on writes."""
    ri_case, _ = ri_and_baek()
    assert analyst_client.get(f"{CASES}{ri_case.uuid}/").status_code == 200
    response = analyst_client.patch(
        f"{CASES}{ri_case.uuid}/", {"priority": "low"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 403


# --------------------------------------------------------------------------------------------
# Query counts
# --------------------------------------------------------------------------------------------


def _populate(count: int):
    party = f.party()
    for _ in range(count):
        case = f.case(detaining_party=party, person_obj=f.person(nationalities=["KP"]))
        f.intention(case)
        f.request(case)


@pytest.mark.parametrize("count", [1, 50])
def test_case_list_query_count_does_not_grow_with_rows(
    analyst_client, count, django_assert_num_queries
):
    """Listing 1 or 50 cases costs the same queries: count, rows, name variants, permissions."""
    _populate(count)
    with django_assert_num_queries(4 + NAMES_QUERY):
        response = analyst_client.get(CASES, {"page_size": 100})
    assert len(results(response)) == count


@pytest.mark.parametrize("count", [1, 50])
def test_filtered_case_list_query_count(analyst_client, count, django_assert_num_queries):
    """Filters add conditions, not queries (bar one to check a named party exists)."""
    _populate(count)
    party = Case.objects.first().detaining_party
    # + the user's permissions (2): the name search of an analyst covers pseudonyms only.
    with django_assert_num_queries(5 + NAMES_QUERY + NATIONALITY_STATISTICS):
        response = analyst_client.get(
            CASES,
            {
                "q": "Ri",
                "status": "captured",
                "request_kind": "medical_treatment",
                "detaining_party": str(party.uuid),
                "nationality": "KP,RU",
                "ordering": "-updated_at",
                "page_size": 100,
            },
        )
    assert len(results(response)) == count
