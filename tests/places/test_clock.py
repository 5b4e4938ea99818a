"""The Art. 70 clock and the current place follow the case's movements and capture cards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cases import clocks
from cases.models import Case
from cases.places import services as place_services
from cases.places.models import CaptureCard, Movement, Place
from tests import factories as f
from tests.support import timeline

pytestmark = pytest.mark.django_db

D = dt.date


def _move(case, to_place, on, kind="transfer", from_place=None, **kwargs):
    return place_services.movement_record(
        actor=f.SYSTEM,
        case=case,
        to_place=to_place,
        from_place=from_place,
        moved_on=on,
        kind=kind,
        **kwargs,
    )


def _overdue_ids(on: dt.date) -> set[int]:
    return set(Case.objects.filter(clocks.OVERDUE["capture_card"](on)).values_list("pk", flat=True))


def _case(places) -> Case:
    return Case.objects.get(pk=places.case.pk)


def test_capture_move_move_again_card_sent_late(places, today):
    """Capture starts a seven-day clock; each transfer restarts it; a card sent late stops it.

    At each step the due date on the case, the overdue filter and the current place agree.
    """
    case = places.case
    assert _case(places).capture_card_due_on is None
    assert not _overdue_ids(D(2025, 3, 1))

    # Captured on 9 January, held in Kyiv: a card is due by 16 January.
    with timeline.assert_one_event(kind="movement.recorded", case=case) as new:
        capture = _move(case, places.kyiv, D(2025, 1, 9), kind="capture")
    assert new.event.changes["current_place"] == [None, timeline.ref(places.kyiv)]
    assert new.event.changes["capture_card_due_on"] == [None, "2025-01-16"]
    row = _case(places)
    assert row.current_place == places.kyiv
    assert row.capture_card_due_on == D(2025, 1, 16)
    assert _overdue_ids(D(2025, 1, 16)) == set()  # the last day is still in time
    assert _overdue_ids(D(2025, 1, 17)) == {case.pk}

    # Transferred to a camp on 20 January: the clock restarts, due 27 January.
    _move(case, places.camp, D(2025, 1, 20), from_place=places.kyiv)
    row = _case(places)
    assert row.current_place == places.camp
    assert row.capture_card_due_on == D(2025, 1, 27)
    assert _overdue_ids(D(2025, 1, 27)) == set()
    assert _overdue_ids(D(2025, 1, 28)) == {case.pk}

    # A card for the capture, recorded now, answers the capture, not the transfer.
    place_services.capture_card_record(
        actor=f.SYSTEM,
        movement=capture,
        filled_in_on=D(2025, 1, 12),
        sent_to_agency_on=D(2025, 1, 14),
    )
    assert _case(places).capture_card_due_on == D(2025, 1, 27)

    # Moved again, to hospital on 1 February: due 8 February.
    admission = _move(
        case, places.hospital, D(2025, 2, 1), kind="hospital_admission", from_place=places.camp
    )
    row = _case(places)
    assert row.current_place == places.hospital
    assert row.capture_card_due_on == D(2025, 2, 8)
    assert clocks.capture_card_overdue(row, D(2025, 2, 8)) is False
    assert clocks.capture_card_overdue(row, D(2025, 2, 10)) is True
    assert _overdue_ids(D(2025, 2, 10)) == {case.pk}

    # The card is filled in late and not yet sent: still overdue.
    with timeline.assert_one_event(kind="capture_card.recorded", case=case):
        card = place_services.capture_card_record(
            actor=f.SYSTEM, movement=admission, filled_in_on=D(2025, 2, 11), health="wounded"
        )
    assert _overdue_ids(D(2025, 2, 12)) == {case.pk}

    # Sent to the Central Agency on 13 February (late): the duty is discharged.
    with timeline.assert_one_event(kind="capture_card.updated", case=case) as new:
        place_services.capture_card_update(
            actor=f.SYSTEM, card=card, expected_version=1, sent_to_agency_on=D(2025, 2, 13)
        )
    assert new.event.changes["sent_to_agency_on"] == [None, "2025-02-13"]
    assert new.event.changes["capture_card_due_on"] == ["2025-02-08", None]
    assert _case(places).capture_card_due_on is None
    assert _overdue_ids(D(2025, 2, 14)) == set()
    assert CaptureCard.objects.get(pk=card.pk).version == 2


def test_a_back_dated_movement_recorded_later_does_not_move_him_back(places, today):
    """The current place is the newest movement by date, then by the order recorded."""
    case = places.case
    _move(case, places.kyiv, D(2025, 1, 9), kind="capture")
    _move(case, places.camp, D(2025, 2, 1), from_place=places.kyiv)
    # Learned later: a hospital stay in mid-January, before the transfer to the camp.
    _move(case, places.hospital, D(2025, 1, 15), kind="hospital_admission", from_place=places.kyiv)
    row = _case(places)
    assert row.current_place == places.camp
    assert row.capture_card_due_on == D(2025, 2, 8)
    # Two movements on one day: the one recorded last counts.
    _move(case, places.hospital, D(2025, 2, 1), kind="hospital_admission", from_place=places.camp)
    assert _case(places).current_place == places.hospital


def test_a_declined_card_discharges_the_duty(places, today):
    """He may decline to write a card; recorded with its date, no card is due."""
    capture = _move(places.case, places.kyiv, D(2025, 1, 9), kind="capture")
    place_services.capture_card_record(
        actor=f.SYSTEM, movement=capture, declined=True, declined_on=D(2025, 1, 10)
    )
    assert _case(places).capture_card_due_on is None
    with pytest.raises(ValidationError):
        place_services.capture_card_record(
            actor=f.SYSTEM, movement=capture, declined=True, declined_on=D(2025, 1, 11)
        )


def test_a_closed_case_is_not_overdue(places, today):
    """A case that is closed owes no card, whatever its due date."""
    _move(places.case, places.kyiv, D(2025, 1, 9), kind="capture")
    assert _overdue_ids(D(2025, 2, 1)) == {places.case.pk}
    Case.objects.filter(pk=places.case.pk).update(closed_at=dt.datetime(2025, 1, 30, tzinfo=dt.UTC))
    assert _overdue_ids(D(2025, 2, 1)) == set()


def test_refused_writes_leave_neither_row_nor_event(places, today):
    """A transfer needs an origin; a card sent before it was filled in is refused."""
    with timeline.assert_no_event(), pytest.raises(ValidationError):
        _move(places.case, places.camp, D(2025, 1, 20), kind="transfer")
    assert not Movement.objects.exists()
    capture = _move(places.case, places.kyiv, D(2025, 1, 9), kind="capture")
    with timeline.assert_no_event(), pytest.raises(ValidationError):
        place_services.capture_card_record(
            actor=f.SYSTEM,
            movement=capture,
            filled_in_on=D(2025, 1, 12),
            sent_to_agency_on=D(2025, 1, 11),
        )
    assert not CaptureCard.objects.exists()
    assert _case(places).capture_card_due_on == D(2025, 1, 16)


def test_detention_place_is_the_officers_free_text(places, today):
    """The free-text place is left as written: movements decide ``current_place`` only,
    so the case changes only with its own events."""
    from cases import services

    case = services.case_update(actor=f.SYSTEM, case=places.case, detention_place="Kyiv")
    _move(case, places.kyiv, D(2025, 1, 9), kind="capture")
    case = _case(places)
    assert case.detention_place == "Kyiv"
    assert case.current_place == places.kyiv
    assert case.version == 2


def test_place_create_appends_its_event(db):
    """A place is reference data: its event names no case."""
    ukraine = f.party("Ukraine", country="UA")
    with timeline.assert_one_event(kind="place.created", case=None) as new:
        place = place_services.place_create(
            actor=f.SYSTEM, name="Transit point", kind="transit", detaining_party=ukraine
        )
    assert new.event.changes["name"] == [None, "Transit point"]
    assert new.event.subject_uuid == place.uuid
    with pytest.raises(ValidationError):
        place_services.place_create(
            actor=f.SYSTEM,
            name="Bad code",
            kind="camp",
            detaining_party=ukraine,
            country="UA",
            subdivision_code="RU-KRS",
        )


def test_a_movement_known_to_the_month_is_due_a_week_after_the_month(places, today):
    """Arrived "in January 2025": the card is surely late only after 7 February."""
    _move(places.case, places.kyiv, D(2025, 1, 1), kind="capture", moved_on_precision="month")
    assert _case(places).capture_card_due_on == D(2025, 2, 7)
    assert clocks.latest_day(D(2024, 2, 1), "month") == D(2024, 2, 29)
    assert clocks.latest_day(D(2025, 1, 1), "year") == D(2025, 12, 31)


def test_the_seed_holds_the_men_in_kyiv_with_no_card_publicly_known(today):
    """The seed places both men with the SBU in Kyiv from January 2025 (month precision),
    with their sources; no card is invented, so both cases are overdue after 7 February."""
    from cases.seed import load_seed

    result = load_seed()
    assert result.created["places"] == 1 and result.created["movements"] == 2
    kyiv = Place.objects.get()
    assert (kyiv.subdivision_code, kyiv.kind) == ("UA-30", "other")
    movements = Movement.objects.select_related("source", "case")
    assert {m.case.reference for m in movements} == {"UA-2025-0001", "UA-2025-0002"}
    assert all(m.source is not None and m.moved_on_precision == "month" for m in movements)
    assert not CaptureCard.objects.exists()
    cases = Case.objects.all()
    assert {c.current_place_id for c in cases} == {kyiv.pk}
    assert {c.capture_card_due_on for c in cases} == {D(2025, 2, 7)}
    assert _overdue_ids(D(2025, 2, 8)) == set(cases.values_list("pk", flat=True))
    assert load_seed().created["movements"] == 0
