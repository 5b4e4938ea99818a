"""Occurrences on their own admin list: recorded through the service, never changed."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from cases import services
from cases.models import Occurrence
from tests import factories
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role
from tests.support.timeline import assert_no_event, assert_one_event

pytestmark = pytest.mark.django_db

LIST = "/admin/cases/occurrence/"
ADD = "/admin/cases/occurrence/add/"


def _client(role: str) -> Client:
    client = Client()
    client.force_login(user_in_role(role, role.replace(" ", "-"), is_staff=True))
    return client


def _occurrence(case, kind="icrc_visit", day=dt.date(2025, 2, 1), description="Visit"):
    return services.occurrence_record(
        actor=factories.SYSTEM, case=case, kind=kind, occurred_on=day, description=description
    )


def _add_data(case, **overrides):
    return {
        "case": str(case.pk),
        "kind": "icrc_visit",
        "occurred_on": "2025-02-03",
        "occurred_on_precision": "day",
        "description": "ICRC delegates met him in private",
        "place": "Camp West",
        "source": "",
        "reason": "From the ICRC's note",
        **overrides,
    }


def test_an_officer_records_an_occurrence_through_the_service():
    case = factories.case(reference="UA-2025-0001")
    officer = _client(CASE_OFFICER)
    with assert_one_event(kind="occurrence.recorded", case=case) as new:
        response = officer.post(ADD, _add_data(case))
    assert response.status_code == 302, response.content[:2000]
    (occurrence,) = Occurrence.objects.all()
    assert (occurrence.case, occurrence.kind, occurrence.occurred_on) == (
        case,
        "icrc_visit",
        dt.date(2025, 2, 3),
    )
    assert new.event.subject_uuid == occurrence.uuid
    assert new.event.reason == "From the ICRC's note"
    assert new.event.actor_label == "case-officer"


def test_a_refused_occurrence_leaves_neither_row_nor_event():
    case = factories.case(reference="UA-2025-0001")
    officer = _client(CASE_OFFICER)
    with assert_no_event():
        response = officer.post(ADD, _add_data(case, description=""))
    assert response.status_code == 200
    assert not Occurrence.objects.exists()


def test_an_occurrence_is_never_changed_and_an_analyst_adds_none():
    case = factories.case(reference="UA-2025-0001")
    occurrence = _occurrence(case)
    change = reverse("admin:cases_occurrence_change", args=[occurrence.pk])
    officer, analyst = _client(CASE_OFFICER), _client(ANALYST)
    page = officer.get(change)
    assert page.status_code == 200
    assert b'name="description"' not in page.content  # read-only
    with assert_no_event():
        assert officer.post(change, {"description": "Changed"}).status_code == 403
        assert analyst.post(ADD, _add_data(case)).status_code == 403
    assert analyst.get(LIST).status_code == 200
    occurrence.refresh_from_db()
    assert occurrence.description == "Visit"


def test_the_list_filters_by_kind_date_and_case():
    first = factories.case(reference="UA-2025-0001")
    second = factories.case(reference="UA-2025-0002")
    visit = _occurrence(first)
    exclusion = _occurrence(
        second, kind="exchange_exclusion", day=dt.date(2024, 5, 1), description="Left off"
    )
    client = _client(ANALYST)

    def listed(**params) -> set[int]:
        response = client.get(LIST, params)
        assert response.status_code == 200
        return {row.pk for row in response.context["cl"].result_list}

    assert listed() == {visit.pk, exclusion.pk}
    assert listed(kind__exact="exchange_exclusion") == {exclusion.pk}
    assert listed(occurred_on__gte="2025-01-01", occurred_on__lt="2026-01-01") == {visit.pk}
    assert listed(case=str(first.uuid)) == {visit.pk}
    assert listed(q="UA-2025-0002") == {exclusion.pk}
    # A malformed case id is refused as Django refuses a bad filter value (?e=1), not a 500.
    assert client.get(LIST, {"case": "not-a-uuid"}).status_code == 302
