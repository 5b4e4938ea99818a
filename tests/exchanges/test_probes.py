"""Regressions found by probing the handover, documents and tasks from outside and inside."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import services
from cases.exchanges import services as exchanges
from cases.models import Case, TimelineEvent
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    ukraine = f.party("Ukraine", country="UA")
    dprk = f.party("DPRK", country="KP")
    korea = f.party("South Korea", country="KR")
    person = f.person("Ri", names=[], nationalities=["KP"], power_depends_on=dprk)
    case = f.case(reference="UA-2025-0001", person_obj=person, detaining_party=ukraine)
    case = f.advance_case(case, "release_approved")
    return {"case": case, "korea": korea}


def _scheduled_transfer(case):
    request = f.request(case, kind="third_state_transfer", destination_country="KR")
    return f.advance_request(request, "scheduled")


@pytest.mark.parametrize("state", ["withdrawn", "contested", "invalidated"])
def test_a_handover_refuses_a_statement_that_no_longer_stands_as_its_reconfirmation(world, state):
    """A reconfirmation the person withdrew (or that was contested) is no reconfirmation."""
    case = world["case"]
    today = timezone.localdate()
    f.verified_wish(case, "third_state", "KR", stated_on=today - dt.timedelta(days=5))
    taken = f.intention(
        case,
        option="third_state",
        destination_country="KR",
        stated_on=today,
        verification="reconfirmed",
    )
    services.intention_set_state(
        actor=f.SYSTEM, intention=taken, state=state, reason="Said under pressure"
    )
    taken.refresh_from_db()
    request = _scheduled_transfer(case)
    with pytest.raises(ValidationError) as refused:
        exchanges.handover_record(
            actor=f.SYSTEM,
            request=request,
            occurred_on=today,
            receiving_authority=world["korea"],
            reconfirmation=taken,
        )
    assert "reconfirmation" in refused.value.message_dict
    assert Case.objects.get(pk=case.pk).status == "release_approved"


def test_an_executed_medical_request_cannot_be_sent_abroad_afterwards(world):
    """Executed at home (no border, no handover), then given a destination abroad: the
    record would say he was taken across a border without the consent gate."""
    case = world["case"]
    request = f.advance_request(f.request(case, kind="medical_treatment"), "scheduled")
    request = services.request_transition(actor=f.SYSTEM, request=request, status="executed")
    with pytest.raises(ValidationError):
        services.request_update(actor=f.SYSTEM, request=request, destination_country="KR")
    request.refresh_from_db()
    assert request.status == "executed" and not request.destination_country


def test_an_executed_transfer_keeps_the_destination_it_was_handed_over_to(world):
    case = world["case"]
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    f.handover(request, receiving_authority=world["korea"])
    request.refresh_from_db()
    with pytest.raises(ValidationError):
        services.request_update(actor=f.SYSTEM, request=request, destination_country="JP")
    request.refresh_from_db()
    assert request.destination_country.code == "KR"


@pytest.mark.parametrize("abroad", ["KP", "KR"])
def test_a_release_abroad_is_no_way_around_the_handover(world, abroad):
    """Released 'to' his home state or a third state is a move across a border: only a
    handover makes it, through the consent gate (here he even has an asylum claim)."""
    case = world["case"]
    f.request(case, kind="asylum")
    with pytest.raises(ValidationError) as refused:
        services.case_change_status(
            actor=f.SYSTEM, case=case, status="released", released_to=abroad
        )
    assert "released_to" in refused.value.message_dict
    assert Case.objects.get(pk=case.pk).status == "release_approved"


def test_a_release_where_he_is_held_is_still_recorded(world):
    case = services.case_change_status(
        actor=f.SYSTEM, case=world["case"], status="released", released_to="UA"
    )
    assert case.status == "released" and case.released_to.code == "UA"


def test_a_handover_is_not_recorded_before_it_happened(world):
    case = world["case"]
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    with pytest.raises(ValidationError) as refused:
        f.handover(
            request,
            occurred_on=timezone.localdate() + dt.timedelta(days=3),
            receiving_authority=world["korea"],
        )
    assert "occurred_on" in refused.value.message_dict
    assert Case.objects.get(pk=case.pk).status == "release_approved"


def test_a_transfer_to_one_state_is_not_handed_to_another_states_authority(world):
    """Consent was to go to South Korea; handing him to the DPRK's authority is the return
    he did not consent to, whatever the record's destination says."""
    case = world["case"]
    dprk = Case.objects.get(pk=case.pk).person.power_depends_on
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    with pytest.raises(ValidationError):
        f.handover(request, receiving_authority=dprk)


def test_a_release_home_stays_refused_after_the_detaining_party_is_edited(world):
    """Editing the detaining party to his own state does not make a release home a release."""
    case = world["case"]
    home = Case.objects.get(pk=case.pk).person.power_depends_on
    case = services.case_update(actor=f.SYSTEM, case=case, detaining_party=home)
    with pytest.raises(ValidationError) as refused:
        services.case_change_status(actor=f.SYSTEM, case=case, status="released", released_to="KP")
    assert "released_to" in refused.value.message_dict


# --------------------------------------------------------------------------------------------
# To whom: the receiving authority is of the state the move goes to
# --------------------------------------------------------------------------------------------


def _refusal(request, field, **kwargs):
    """Record the handover expecting a refusal on ``field``; return its message."""
    case = Case.objects.get(pk=request.case_id)
    with pytest.raises(ValidationError) as refused:
        f.handover(request, **kwargs)
    assert Case.objects.get(pk=case.pk).status == "release_approved"
    request.refresh_from_db()
    assert request.status == "scheduled"
    return " ".join(refused.value.message_dict[field])


def test_a_transfer_is_handed_to_an_authority_under_the_destination_state(world):
    """A ministry recorded under South Korea (no country of its own) receives him for it; the
    handover records South Korea as the receiving state."""
    case = world["case"]
    ministry = f.party("Ministry of Unification", kind="agency", country="", parent=world["korea"])
    f.verified_wish(case, "third_state", "KR")
    handover = f.handover(_scheduled_transfer(case), receiving_authority=ministry)
    assert handover.receiving_authority == ministry
    assert handover.receiving_state == world["korea"]
    assert handover.destination_country.code == "KR"
    event = TimelineEvent.objects.filter(kind="handover.recorded").get()
    assert event.changes["receiving_state"][1]["uuid"] == str(world["korea"].uuid)
    assert "for South Korea" in event.summary


def test_the_icrc_receives_only_on_behalf_of_a_named_state(world):
    """The ICRC may escort him, but the state he is handed to is still recorded, and it must
    be the destination."""
    case = world["case"]
    icrc = f.neutral_party()
    dprk = Case.objects.get(pk=case.pk).person.power_depends_on
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    message = _refusal(request, "receiving_state", receiving_authority=icrc)
    assert "International Committee of the Red Cross receives him on a state's behalf" in message
    assert "(KR)" in message
    message = _refusal(request, "receiving_state", receiving_authority=icrc, receiving_state=dprk)
    assert "DPRK is an authority of KP" in message and "takes him to KR" in message
    message = _refusal(request, "receiving_state", receiving_authority=icrc, receiving_state=icrc)
    assert "is not a state" in message
    handover = f.handover(request, receiving_authority=icrc, receiving_state=world["korea"])
    assert (handover.receiving_authority, handover.receiving_state) == (icrc, world["korea"])
    assert "Handed over to International Committee of the Red Cross for South Korea" in (
        TimelineEvent.objects.filter(kind="handover.recorded").get().summary
    )


def test_a_states_authority_does_not_receive_him_for_another_state(world):
    case = world["case"]
    dprk = Case.objects.get(pk=case.pk).person.power_depends_on
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    message = _refusal(
        request, "receiving_state", receiving_authority=dprk, receiving_state=world["korea"]
    )
    assert "DPRK is an authority of KP; it does not receive him for South Korea" in message


def test_a_receiver_with_no_country_is_refused(world):
    case = world["case"]
    unknown = f.party("Border detachment", kind="armed_force", country="")
    f.verified_wish(case, "third_state", "KR")
    message = _refusal(
        _scheduled_transfer(case), "receiving_authority", receiving_authority=unknown
    )
    assert "Border detachment names no country" in message


def test_a_repatriation_goes_to_his_own_states_authority(world):
    """A repatriation naming no country goes to the state he depends on, not to a third."""
    case = world["case"]
    dprk = Case.objects.get(pk=case.pk).person.power_depends_on
    f.verified_wish(case, "return_home", "KP")
    request = f.advance_request(f.request(case, kind="repatriation"), "scheduled")
    message = _refusal(request, "receiving_authority", receiving_authority=world["korea"])
    assert "South Korea is an authority of KR" in message and "takes him to KP" in message
    handover = f.handover(request, receiving_authority=dprk)
    assert handover.receiving_state == dprk and handover.destination_country.code == "KP"
    assert Case.objects.get(pk=case.pk).status == "repatriated"


def test_a_repatriation_of_a_man_whose_state_is_unknown_is_refused():
    """No nationality, no power, no country on the request or in his wish: the state he is
    returned to cannot be checked, so he is not handed to anyone."""
    ukraine = f.party("Ukraine", country="UA")
    korea = f.party("South Korea", country="KR")
    case = f.case(person_obj=f.person("Kim", names=[]), detaining_party=ukraine)
    case = f.advance_case(case, "release_approved")
    f.verified_wish(case, "return_home", "")
    request = f.advance_request(f.request(case, kind="repatriation"), "scheduled")
    message = _refusal(request, "request", receiving_authority=korea)
    assert "The state he goes to is not known" in message


def test_an_exchanges_mediator_receives_on_behalf_of_the_destination(world):
    """A mediating state (the UAE) takes him over for the state he goes to; that state is
    named, and a mediator that is itself the destination receives him as that state."""
    case = world["case"]
    ukraine = Case.objects.get(pk=case.pk).detaining_party
    dprk = Case.objects.get(pk=case.pk).person.power_depends_on
    uae = f.party("United Arab Emirates", country="AE")
    exchange = exchanges.exchange_create(
        actor=f.SYSTEM, name="Exchange 1", parties=[ukraine, dprk], mediator=uae
    )
    exchange = exchanges.exchange_transition(actor=f.SYSTEM, exchange=exchange, status="agreed")
    exchanges.exchange_entry_set(actor=f.SYSTEM, exchange=exchange, case=case, state="accepted")
    f.verified_wish(case, "return_home", "KP")
    request = f.advance_request(f.request(case, kind="exchange_inclusion"), "scheduled")
    message = _refusal(request, "receiving_state", receiving_authority=uae, exchange=exchange)
    assert "United Arab Emirates receives him on a state's behalf" in message
    handover = f.handover(request, receiving_authority=uae, receiving_state=dprk, exchange=exchange)
    assert (handover.receiving_authority, handover.receiving_state) == (uae, dprk)
