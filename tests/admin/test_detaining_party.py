"""The detaining party of an open case is changed on the case page, through ``case_update``;
a closed case keeps it, and so does a case with a request in flight that depends on it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cases import services
from cases.models import Case, TimelineEvent
from tests import factories as f
from tests.support import timeline
from tests.support.admin import change_url, errors_text, form_data
from tests.support.roles import CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(client):
    client.force_login(user_in_role(CASE_OFFICER, "custody-officer", is_staff=True))
    return client


@pytest.fixture
def held():
    """Baek, entered as held by the SBU; he is in fact held by Ukraine's armed forces."""
    ukraine = f.party("Ukraine", country="UA")
    sbu = f.party("SBU", kind="agency", country="UA", parent=ukraine)
    russia = f.party("Russia", country="RU")
    case = f.case(reference="UA-2025-0002", detaining_party=sbu)
    return {"case": case, "ukraine": ukraine, "sbu": sbu, "russia": russia}


def _post(client, case, party, reason="Held by the armed forces, not the SBU"):
    page = client.get(change_url(case))
    data = form_data(page)
    data.update(detaining_party=str(party.pk), reason=reason)
    return client.post(change_url(case), data)


def test_the_case_page_changes_the_detaining_party_with_its_event(officer, held):
    case = held["case"]
    armed_forces = f.party("Armed Forces of Ukraine", kind="armed_force", parent=held["ukraine"])
    with timeline.assert_one_event(kind="case.updated", case=case) as new:
        response = _post(officer, case, armed_forces)
    assert response.status_code == 302, errors_text(response)
    stored = Case.objects.get(pk=case.pk)
    assert stored.detaining_party == armed_forces and stored.version == case.version + 1
    assert new.event.changes["detaining_party"] == [
        timeline.ref(held["sbu"]),
        timeline.ref(armed_forces),
    ]
    assert new.event.reason == "Held by the armed forces, not the SBU"
    assert new.event.actor.username == "custody-officer"


def test_a_closed_case_keeps_its_detaining_party(officer, held):
    case = f.advance_case(held["case"], "release_approved")
    case = services.case_change_status(
        actor=f.SYSTEM, case=case, status="released", released_to="UA"
    )
    events = TimelineEvent.objects.count()
    response = _post(officer, case, held["russia"])
    assert response.status_code == 200
    assert "is closed (released)" in errors_text(response)
    assert Case.objects.get(pk=case.pk).detaining_party == held["sbu"]
    assert TimelineEvent.objects.count() == events


def test_a_request_in_flight_to_the_old_detaining_power_is_named_and_refuses_it(officer, held):
    """A repatriation asked of Ukraine (the SBU's state) stands on Ukraine holding him."""
    case = held["case"]
    request = f.request(case, kind="repatriation", addressed_to=held["ukraine"])
    events = TimelineEvent.objects.count()
    response = _post(officer, case, held["russia"])
    assert response.status_code == 200
    text = errors_text(response)
    assert "Requests in flight depend on the detaining party SBU" in text
    assert "Repatriation to Ukraine (filed)" in text
    assert Case.objects.get(pk=case.pk).detaining_party == held["sbu"]
    assert TimelineEvent.objects.count() == events
    # Withdrawn, it no longer depends on anyone: the change goes through.
    services.request_transition(actor=f.SYSTEM, request=request, status="withdrawn")
    response = _post(officer, case, held["russia"])
    assert response.status_code == 302, errors_text(response)
    assert Case.objects.get(pk=case.pk).detaining_party == held["russia"]


def test_treatment_in_the_holding_state_depends_on_who_holds_him(held):
    """Treatment in Ukraine is no border crossing while Ukraine holds him, and one once
    Russia does: the request is decided first."""
    case = held["case"]
    f.request(
        case, kind="medical_treatment", addressed_to=f.party("Clinic"), destination_country="UA"
    )
    with pytest.raises(ValidationError) as refused:
        services.case_update(actor=f.SYSTEM, case=case, detaining_party=held["russia"])
    assert "Medical treatment" in refused.value.message_dict["detaining_party"][0]


def test_a_request_to_another_state_does_not_hold_the_change(held):
    """A transfer asked of South Korea does not depend on who holds him."""
    case = held["case"]
    f.request(case, kind="third_state_transfer", addressed_to=f.party("South Korea", country="KR"))
    case = services.case_update(actor=f.SYSTEM, case=case, detaining_party=held["ukraine"])
    assert case.detaining_party == held["ukraine"]


def test_the_exchange_page_saves_with_its_blank_list_row_untouched(officer, held):
    """The blank row's state select shows "proposed"; left as it is, the row is not a new
    entry without a case, and the page saves."""
    from cases.exchanges import services as exchanges

    exchange = exchanges.exchange_create(
        actor=f.SYSTEM, name="Exchange 7", parties=[held["ukraine"], held["russia"]]
    )
    exchanges.exchange_entry_set(
        actor=f.SYSTEM, exchange=exchange, case=held["case"], state="proposed"
    )
    page = officer.get(change_url(exchange))
    data = form_data(page)
    data.update({"entries-0-state": "accepted", "notes": "Agreed in Abu Dhabi"})
    response = officer.post(change_url(exchange), data)
    assert response.status_code == 302, errors_text(response)
    assert exchange.entries.get().state == "accepted"
