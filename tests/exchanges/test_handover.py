"""The handover: the one write that moves a person across a border, through the consent gate.

A handover records the reconfirmation taken there, executes the scheduled request, closes
the case with the matching status and marks his exchange list entry handed over, in one
transaction; a refusal names what is missing and writes nothing. No other path reaches a
closed status of a border crossing, nor executes a request that makes one.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import consent, services
from cases.exchanges import services as exchanges
from cases.exchanges.models import Exchange, ExchangeListEntry, Handover
from cases.models import Case, Request, StatedIntention, TimelineEvent
from tests import factories as f
from tests.support import timeline

pytestmark = pytest.mark.django_db

SYSTEM = f.SYSTEM


@pytest.fixture
def world():
    """Ri, held by Ukraine, a North Korean national; release approved; the ICRC; South Korea."""
    ukraine = f.party("Ukraine", country="UA")
    dprk = f.party("DPRK", country="KP")
    korea = f.party("South Korea", country="KR")
    person = f.person("Ri", names=[], nationalities=["KP"], power_depends_on=dprk)
    case = f.case(reference="UA-2025-0001", person_obj=person, detaining_party=ukraine)
    case = f.advance_case(case, "release_approved")
    return {
        "case": case,
        "ukraine": ukraine,
        "dprk": dprk,
        "korea": korea,
        "icrc": f.neutral_party(),
    }


def _scheduled_transfer(case, destination="KR"):
    request = f.request(case, kind="third_state_transfer", destination_country=destination)
    return f.advance_request(request, "scheduled")


def _reconfirmation(world, **extra):
    return {
        "heard_by": world["icrc"],
        "detaining_power_present": "no",
        "options_explained": True,
        "quote": "I want to go to South Korea.",
        **extra,
    }


def _counts():
    return (
        TimelineEvent.objects.count(),
        Handover.objects.count(),
        StatedIntention.objects.count(),
    )


def test_a_handover_executes_the_request_and_closes_the_case(world):
    """Rows: a reconfirmed statement, the request executed, the case transferred to KR with
    the handover pointing at both; events: one per subject, in order, the gate's pass named."""
    case = world["case"]
    today = timezone.localdate()
    f.verified_wish(case, "third_state", "KR", stated_on=today - dt.timedelta(days=40))
    request = _scheduled_transfer(case)
    last = timeline._last_id()

    handover = exchanges.handover_record(
        actor=SYSTEM,
        request=request,
        occurred_on=today,
        receiving_authority=world["korea"],
        place_text="Border crossing point, Poland",
        present_parties=[world["icrc"]],
        reconfirmation=_reconfirmation(world),
    )

    appended = timeline.events_after(last)
    # The executed request closes its consent task; the notification owed for the transfer
    # opens its own (each task event follows the event that made it).
    events = timeline.causing_events(appended)
    assert [e.kind for e in events] == [
        "intention.recorded",
        "request.status_changed",
        "case.status_changed",
        "handover.recorded",
    ]
    assert [e.kind for e in appended if e not in events] == ["task.done", "task.opened"]
    assert {e.case_id for e in appended} == {case.pk}
    seqs = [e.case_seq for e in appended]
    assert seqs == list(range(seqs[0], seqs[0] + 6))
    case.refresh_from_db()
    request.refresh_from_db()
    reconfirmed = handover.reconfirmation
    assert reconfirmed.verification == "reconfirmed"
    assert (reconfirmed.option, reconfirmed.destination_country.code) == ("third_state", "KR")
    assert reconfirmed.stated_on == today
    assert handover.consent_statement == reconfirmed
    assert case.status == "transferred_third_state" and case.closed_at is not None
    assert case.current_intention == reconfirmed
    assert request.status == "executed"
    assert handover.destination_country.code == "KR"
    assert list(handover.present_parties.all()) == [world["icrc"]]
    executed, closed, recorded = events[1], events[2], events[3]
    assert executed.changes["status"] == ["scheduled", "executed"]
    assert executed.changes["consent_statement"] == [None, str(reconfirmed.uuid)]
    assert closed.changes["status"] == ["release_approved", "transferred_third_state"]
    assert closed.changes["destination_country"] == [None, "KR"]
    assert closed.changes["consent_statement"] == [None, str(reconfirmed.uuid)]
    assert recorded.subject_type == "handover" and recorded.subject_uuid == handover.uuid
    assert recorded.changes["receiving_authority"][1]["uuid"] == str(world["korea"].uuid)
    assert recorded.changes["reconfirmation"][1]["uuid"] == str(reconfirmed.uuid)
    assert recorded.changes["present_parties"] == [None, [timeline.ref(world["icrc"])]]
    assert recorded.occurred_at.date() == today


def test_a_handover_without_a_reconfirmation_passes_on_a_fresh_verified_wish(world):
    """No reconfirmation taken: the gate passes on his verified wish, which it records."""
    case = world["case"]
    wish = f.verified_wish(case, "third_state", "KR")
    handover = f.handover(_scheduled_transfer(case), receiving_authority=world["korea"])
    assert handover.reconfirmation is None
    assert handover.consent_statement == wish
    assert Case.objects.get(pk=case.pk).status == "transferred_third_state"


def test_a_repatriation_handover_closes_the_case_as_repatriated(world):
    case = world["case"]
    f.verified_wish(case, "return_home", "KP", stated_on=timezone.localdate() - dt.timedelta(5))
    request = f.advance_request(f.request(case, kind="repatriation"), "scheduled")
    handover = exchanges.handover_record(
        actor=SYSTEM,
        request=request,
        occurred_on=timezone.localdate(),
        receiving_authority=world["dprk"],
        reconfirmation=_reconfirmation(world, quote="I want to go home."),
    )
    case.refresh_from_db()
    assert case.status == "repatriated"
    # A repatriation request named no country; his verified wish named KP, and so does the
    # reconfirmation that stands on it.
    assert handover.reconfirmation.destination_country.code == "KP"


# --------------------------------------------------------------------------------------------
# Refusals: each names what is missing, and nothing is written
# --------------------------------------------------------------------------------------------


def _refused(request, world, match, *, reconfirmation=True, **kwargs):
    receiving = kwargs.pop("receiving_authority", None) or f.receiving_authority_for(request)
    before = _counts()
    statuses = (Case.objects.get(pk=request.case_id).status, request.status)
    with pytest.raises(ValidationError, match=match):
        exchanges.handover_record(
            actor=SYSTEM,
            request=request,
            occurred_on=kwargs.pop("occurred_on", timezone.localdate()),
            receiving_authority=receiving,
            reconfirmation=_reconfirmation(world) if reconfirmation else None,
            **kwargs,
        )
    assert _counts() == before
    request.refresh_from_db()
    assert (Case.objects.get(pk=request.case_id).status, request.status) == statuses


def test_refused_without_an_earlier_verified_statement(world):
    """A reconfirmation stands on an earlier verified statement; a stated one is not enough."""
    case = world["case"]
    f.intention(case, option="third_state", destination_country="KR", stated_on=dt.date.today())
    _refused(_scheduled_transfer(case), world, "needs an earlier verified statement")


def test_refused_without_any_verified_statement_and_no_reconfirmation(world):
    case = world["case"]
    f.intention(case, option="third_state", destination_country="KR", stated_on=dt.date.today())
    _refused(_scheduled_transfer(case), world, "only 'stated'", reconfirmation=False)


def test_refused_on_a_stale_wish_without_a_reconfirmation(world):
    case = world["case"]
    f.verified_wish(case, "third_state", "KR", stated_on=timezone.localdate() - dt.timedelta(45))
    _refused(_scheduled_transfer(case), world, "45 days old", reconfirmation=False)


def test_refused_for_another_destination(world):
    """He said South Korea in private; a transfer to Germany is refused, reconfirmed or not."""
    case = world["case"]
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case, destination="DE")
    _refused(request, world, "needs an earlier verified statement of the same")
    _refused(request, world, "names KR, the move DE", reconfirmation=False)


def test_refused_for_a_return_while_asylum_is_pending(world):
    case = world["case"]
    f.verified_wish(case, "return_home", "KP")
    f.request(case, kind="asylum", destination_country="UA")
    request = f.advance_request(f.request(case, kind="repatriation"), "scheduled")
    _refused(request, world, "asylum or protection request is pending")


def test_refused_for_a_return_with_a_high_risk_on_file(world):
    case = world["case"]
    f.verified_wish(case, "return_home", "KP")
    services.risk_assessment_record(
        actor=SYSTEM,
        case=case,
        level="high",
        basis="Deserters are executed",
        assessor="Protection officer",
        assessed_on=timezone.localdate(),
    )
    request = f.advance_request(f.request(case, kind="repatriation"), "scheduled")
    _refused(request, world, "high risk of harm on return")


def test_refused_while_the_case_is_on_hold(world):
    """Baek's transfer left his case on hold: now a case on hold is not handed over."""
    case = world["case"]
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    services.case_change_status(actor=SYSTEM, case=Case.objects.get(pk=case.pk), status="interned")
    services.case_change_status(actor=SYSTEM, case=Case.objects.get(pk=case.pk), status="on_hold")
    _refused(request, world, "is on_hold: approve his release")


def test_refused_for_a_request_not_scheduled(world):
    case = world["case"]
    f.verified_wish(case, "third_state", "KR")
    request = f.advance_request(f.request(case, kind="third_state_transfer"), "accepted")
    _refused(request, world, "this one is accepted")


def test_refused_when_the_reconfirmation_does_not_earn_its_level(world):
    case = world["case"]
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    before = _counts()
    with pytest.raises(ValidationError, match="no staff of the detaining power"):
        exchanges.handover_record(
            actor=SYSTEM,
            request=request,
            occurred_on=timezone.localdate(),
            receiving_authority=world["korea"],
            reconfirmation=_reconfirmation(world, detaining_power_present="yes"),
        )
    assert _counts() == before


# --------------------------------------------------------------------------------------------
# No other path
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["repatriated", "transferred_third_state"])
def test_the_case_service_points_at_the_handover(world, status):
    case = world["case"]
    f.verified_wish(case, "third_state" if status != "repatriated" else "return_home", "KR")
    with (
        timeline.assert_no_event(),
        pytest.raises(ValidationError, match="only through a handover"),
    ):
        services.case_change_status(
            actor=SYSTEM, case=case, status=status, destination_country="KR"
        )


def test_the_request_service_points_at_the_handover(world):
    case = world["case"]
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    with timeline.assert_no_event(), pytest.raises(ValidationError, match="through a handover"):
        services.request_transition(actor=SYSTEM, request=request, status="executed")


def test_a_request_that_moves_no_one_is_still_executed_directly(world):
    request = f.advance_request(f.request(world["case"], kind="family_contact"), "scheduled")
    with timeline.assert_one_event(kind="request.status_changed"):
        services.request_transition(actor=SYSTEM, request=request, status="executed")


def test_a_raw_save_of_a_closed_status_is_refused_by_the_gate(world):
    """The model's guard stays: a status stored without the gate's pass is a defect."""
    case = Case.objects.get(pk=world["case"].pk)
    case.status = "repatriated"
    with pytest.raises(consent.ConsentNotAsked):
        case.save()


def test_a_second_handover_of_the_same_request_is_refused(world):
    case = world["case"]
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    f.handover(request)
    with pytest.raises(ValidationError, match="this one is executed"):
        f.handover(Request.objects.get(pk=request.pk))


# --------------------------------------------------------------------------------------------
# Released: to where
# --------------------------------------------------------------------------------------------


def test_a_release_says_where_to(world):
    case = world["case"]
    with timeline.assert_no_event(), pytest.raises(ValidationError, match="to which country"):
        services.case_change_status(actor=SYSTEM, case=case, status="released")
    with timeline.assert_one_event(kind="case.status_changed") as new:
        services.case_change_status(
            actor=SYSTEM,
            case=case,
            status="released",
            released_to="UA",
            released_to_place="Kyiv, to the migration service",
        )
    case.refresh_from_db()
    assert (case.released_to.code, case.released_to_place) == (
        "UA",
        "Kyiv, to the migration service",
    )
    assert new.event.changes["released_to"] == [None, "UA"]
    assert new.event.changes["released_to_place"] == [None, "Kyiv, to the migration service"]


# --------------------------------------------------------------------------------------------
# Exchanges and their lists
# --------------------------------------------------------------------------------------------


def _exchange(world, status="agreed"):
    russia = f.party("Russia", country="RU")
    exchange = exchanges.exchange_create(
        actor=SYSTEM,
        name="Exchange of 2025-05-23",
        parties=[world["ukraine"], russia],
        mediator=f.party("UAE", country="AE"),
        planned_on=timezone.localdate(),
    )
    for step in ("agreed", "in_progress")[: ("agreed", "in_progress").index(status) + 1]:
        exchange = exchanges.exchange_transition(actor=SYSTEM, exchange=exchange, status=step)
    return exchange


def test_an_exchange_is_planned_and_agreed_with_one_event_each(world):
    russia = f.party("Russia", country="RU")
    with timeline.assert_one_event(kind="exchange.created", case=None) as new:
        exchange = exchanges.exchange_create(
            actor=SYSTEM,
            name="Exchange of 2025-05-23",
            parties=[world["ukraine"], russia],
            planned_on=dt.date(2025, 5, 23),
        )
    assert new.event.changes["status"] == [None, "planned"]
    assert len(new.event.changes["parties"][1]) == 2
    with timeline.assert_one_event(kind="exchange.status_changed") as new:
        exchange = exchanges.exchange_transition(actor=SYSTEM, exchange=exchange, status="agreed")
    assert new.event.changes == {"status": ["planned", "agreed"]}
    assert Exchange.objects.get(pk=exchange.pk).version == 2
    with pytest.raises(ValidationError, match="cannot go from agreed to completed"):
        exchanges.exchange_transition(actor=SYSTEM, exchange=exchange, status="completed")


def test_an_exchange_is_between_two_sides(world):
    with timeline.assert_no_event(), pytest.raises(ValidationError, match="two sides"):
        exchanges.exchange_create(actor=SYSTEM, name="One-sided", parties=[world["ukraine"]])


def test_a_handover_in_an_exchange_marks_his_list_entry(world):
    case = world["case"]
    exchange = _exchange(world)
    with timeline.assert_one_event(kind="exchange.entry_set", case=case) as new:
        entry = exchanges.exchange_entry_set(
            actor=SYSTEM, exchange=exchange, case=case, state="proposed"
        )
    assert new.event.changes["state"] == [None, "proposed"]
    f.verified_wish(case, "third_state", "KR")
    request = _scheduled_transfer(case)
    # Only an accepted person is handed over in the exchange.
    _refused(request, world, "is proposed in", exchange=exchange)
    exchanges.exchange_entry_set(actor=SYSTEM, exchange=exchange, case=case, state="accepted")
    with pytest.raises(ValidationError, match="only by recording the handover"):
        exchanges.exchange_entry_set(
            actor=SYSTEM, exchange=exchange, case=case, state="handed_over"
        )
    last = timeline._last_id()
    handover = f.handover(request, exchange=exchange, reconfirmation=_reconfirmation(world))
    entry.refresh_from_db()
    assert entry.state == "handed_over"
    recorded = timeline.events_after(last)[-1]
    assert recorded.kind == "handover.recorded"
    assert recorded.changes["list_entry_state"] == ["accepted", "handed_over"]
    assert recorded.changes["exchange"][1]["uuid"] == str(exchange.uuid)
    assert handover.exchange == exchange
    assert ExchangeListEntry.objects.get(pk=entry.pk).version == 3


def test_no_handover_in_a_planned_exchange(world):
    case = world["case"]
    exchange = exchanges.exchange_create(
        actor=SYSTEM, name="Not yet", parties=[world["ukraine"], f.party("Russia", country="RU")]
    )
    f.verified_wish(case, "third_state", "KR")
    _refused(_scheduled_transfer(case), world, "The exchange is planned", exchange=exchange)
