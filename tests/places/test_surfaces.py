"""Places, movements and capture cards through the API, the admin and the analysts' page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from cases.models import Case
from cases.places import services as place_services
from cases.places.models import CaptureCard, Movement, Place
from tests import factories as f
from tests.support import timeline
from tests.support.clients import results, session_client
from tests.support.roles import CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

API = "/api/v1"
D = dt.date
CAPTURED = D(2025, 1, 9)


def _capture(places, on=CAPTURED):
    return place_services.movement_record(
        actor=f.SYSTEM, case=places.case, to_place=places.kyiv, moved_on=on, kind="capture"
    )


def test_case_resource_shows_place_and_clock(places, today, officer_client):
    """The case list and detail carry the current place, the due day and whether it passed."""
    _capture(places)
    today(D(2025, 1, 20))
    listed = results(officer_client.get(f"{API}/cases/"))
    (row,) = [r for r in listed if r["uuid"] == str(places.case.uuid)]
    assert row["current_place"] == {"uuid": str(places.kyiv.uuid), "name": places.kyiv.name}
    assert row["capture_card_due_on"] == "2025-01-16"
    assert row["capture_card_overdue"] is True
    detail = officer_client.get(f"{API}/cases/{places.case.uuid}/").json()
    assert detail["current_place"]["uuid"] == str(places.kyiv.uuid)
    assert detail["capture_card_overdue"] is True
    today(D(2025, 1, 16))
    assert (
        officer_client.get(f"{API}/cases/{places.case.uuid}/").json()["capture_card_overdue"]
        is False
    )


def test_case_filters_overdue_and_current_place(places, today, officer_client):
    """``?overdue=capture_card`` and ``?current_place=`` select the cases, in the API."""
    other = f.case(reference="UA-2025-0002", detaining_party=places.ukraine)
    _capture(places)
    today(D(2025, 1, 17))

    def refs(**params):
        return {r["reference"] for r in results(officer_client.get(f"{API}/cases/", params))}

    assert refs(overdue="capture_card") == {"UA-2025-0001"}
    assert refs(current_place=str(places.kyiv.uuid)) == {"UA-2025-0001"}
    assert refs(current_place=str(places.camp.uuid)) == set()
    assert refs(capture_card_due_before="2025-01-16") == {"UA-2025-0001"}
    today(D(2025, 1, 16))
    assert refs(overdue="capture_card") == set()
    assert other.reference not in refs(overdue="capture_card")
    bad = officer_client.get(f"{API}/cases/", {"overdue": "lunch"})
    assert bad.status_code == 400
    assert "capture_card" in bad.content.decode()


def test_api_writes_a_move_then_a_card_then_sends_it(places, today, officer_client):
    """POST a capture, a transfer and the transfer's card; PATCH it as sent, with its
    version: each write is one event, and the case follows."""
    response = officer_client.post(
        f"{API}/movements/",
        {
            "case": str(places.case.uuid),
            "to_place": str(places.kyiv.uuid),
            "moved_on": "2025-01-01",
            "moved_on_precision": "month",
            "kind": "capture",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["to_place"]["name"] == places.kyiv.name
    with timeline.assert_one_event(kind="movement.recorded", case=places.case):
        response = officer_client.post(
            f"{API}/movements/",
            {
                "case": str(places.case.uuid),
                "from_place": str(places.kyiv.uuid),
                "to_place": str(places.camp.uuid),
                "moved_on": "2025-02-03",
                "kind": "transfer",
                "reason": "Moved for surgery follow-up",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    transfer = response.json()["uuid"]
    assert Case.objects.get(pk=places.case.pk).current_place == places.camp
    # A transfer without an origin is refused with the field named.
    refused = officer_client.post(
        f"{API}/movements/",
        {
            "case": str(places.case.uuid),
            "to_place": str(places.hospital.uuid),
            "moved_on": "2025-02-04",
            "kind": "transfer",
        },
        format="json",
    )
    assert refused.status_code == 400 and "from_place" in refused.content.decode()

    response = officer_client.post(
        f"{API}/capture-cards/",
        {"movement": transfer, "filled_in_on": "2025-02-05", "health": "well"},
        format="json",
    )
    assert response.status_code == 201, response.content
    card = response.json()
    assert card["version"] == 1 and card["discharges_duty"] is False
    assert Case.objects.get(pk=places.case.pk).capture_card_due_on == D(2025, 2, 10)
    # Without the version: 428; with a stale one: 412.
    url = f"{API}/capture-cards/{card['uuid']}/"
    assert (
        officer_client.patch(url, {"sent_to_agency_on": "2025-02-06"}, format="json").status_code
        == 428
    )
    stale = officer_client.patch(
        url, {"sent_to_agency_on": "2025-02-06", "version": 7}, format="json"
    )
    assert stale.status_code == 412
    with timeline.assert_one_event(kind="capture_card.updated", case=places.case):
        sent = officer_client.patch(
            url, {"sent_to_agency_on": "2025-02-06"}, format="json", HTTP_IF_MATCH='"1"'
        )
    assert sent.status_code == 200, sent.content
    assert sent.json()["discharges_duty"] is True and sent.json()["version"] == 2
    assert Case.objects.get(pk=places.case.pk).capture_card_due_on is None


def test_analyst_may_not_write_and_sees_no_health(places, today, analyst_client):
    """An analyst reads places, movements and cards; a card's health and notes are withheld."""
    movement = _capture(places)
    place_services.capture_card_record(
        actor=f.SYSTEM, movement=movement, filled_in_on=D(2025, 1, 10), health="wounded"
    )
    (card,) = results(analyst_client.get(f"{API}/capture-cards/"))
    assert card["health"] is None and set(card["redacted"]) == {"health", "notes"}
    denied = analyst_client.post(
        f"{API}/places/",
        {"name": "X", "kind": "camp", "detaining_party": str(places.ukraine.uuid)},
        format="json",
    )
    assert denied.status_code == 403


def test_places_filter(places, officer_client):
    """Places filter by kind, country, subdivision, detaining party and text."""

    def names(**params):
        return {r["name"] for r in results(officer_client.get(f"{API}/places/", params))}

    assert names(kind="hospital") == {"Military hospital"}
    assert names(subdivision_code="ua-30") == {places.kyiv.name}
    assert names(q="camp") == {"Camp West"}
    assert len(names(detaining_party=str(places.ukraine.uuid))) == 3
    assert officer_client.get(f"{API}/places/", {"kind": "castle"}).status_code == 400


def _populate(places, count: int) -> None:
    """Write ``count`` cases, each captured into a place of its own with a card."""
    for index in range(count):
        case = f.case(reference=f"UA-2025-{index + 100:04d}", detaining_party=places.ukraine)
        place = place_services.place_create(
            actor=f.SYSTEM, name=f"Camp {index}", kind="camp", detaining_party=places.ukraine
        )
        movement = place_services.movement_record(
            actor=f.SYSTEM, case=case, to_place=place, moved_on=D(2025, 1, 9), kind="capture"
        )
        place_services.capture_card_record(
            actor=f.SYSTEM, movement=movement, filled_in_on=D(2025, 1, 10), health="well"
        )


@pytest.mark.parametrize(
    ("endpoint", "queries"),
    [
        # The token and the user's permissions were kept at the first request; the state
        # the list's ETag is decided from is read first (cases/api/conditional.py).
        ("places", 3),  # state, count, rows with party
        ("movements", 3),  # state, count, rows with case, places and source
        ("capture-cards", 4),  # state, count, rows, the access log of health shown
    ],
)
@pytest.mark.parametrize("count", [1, 20])
def test_list_query_count_does_not_grow_with_rows(
    places, officer_client, endpoint, queries, count, django_assert_num_queries
):
    """Every new list costs the same number of queries for 1 row as for 20."""
    _populate(places, count)
    officer_client.get(f"{API}/{endpoint}/")  # records the token's first use outside the count
    with django_assert_num_queries(queries):
        response = officer_client.get(f"{API}/{endpoint}/", {"page_size": 500})
    assert len(results(response)) >= count


def test_admin_records_a_move_and_lists_overdue_cases(places, today):
    """An officer records a capture on the case page; the change list's "Overdue: capture
    card" filter then lists the case."""
    officer = user_in_role(CASE_OFFICER, "places-officer", is_staff=True)
    client = session_client(officer)
    from tests.support.admin import change_url, errors_text, form_data, new_row

    url = change_url(places.case)
    page = client.get(url)
    data = form_data(page)
    new_row(
        page,
        Movement,
        data,
        kind="capture",
        to_place=str(places.kyiv.pk),
        moved_on="2025-01-09",
        moved_on_precision="day",
    )
    with timeline.assert_one_event(kind="movement.recorded", actor=officer, channel="admin"):
        response = client.post(url, data)
    assert response.status_code == 302, errors_text(response)
    today(D(2025, 1, 20))
    changelist = reverse("admin:cases_case_changelist")
    listed = client.get(changelist, {"overdue": "capture_card"})
    assert listed.status_code == 200
    assert [c.pk for c in listed.context["cl"].result_list] == [places.case.pk]
    assert "Overdue: capture card" in listed.content.decode()
    today(D(2025, 1, 10))
    listed = client.get(changelist, {"overdue": "capture_card"})
    assert list(listed.context["cl"].result_list) == []
    assert CaptureCard.objects.count() == 0 and Place.objects.count() == 3


def test_analysts_page_counts_overdue_capture_cards(places, today, client, analyst):
    """The list page says how many of the filtered cases have an overdue capture card."""
    f.case(reference="UA-2025-0002", detaining_party=places.ukraine)
    _capture(places)
    client.force_login(analyst)
    today(D(2025, 1, 20))
    page = client.get("/cases/")
    assert page.context["overdue_capture_cards"] == 1
    assert "with an overdue capture card" in page.content.decode()
    filtered = client.get("/cases/", {"overdue": "capture_card"})
    assert [c.reference for c in filtered.context["cases"]] == ["UA-2025-0001"]
    today(D(2025, 1, 12))
    assert client.get("/cases/").context["overdue_capture_cards"] == 0
