"""The Art. 70 card clock and the Art. 122 notification clock, tried as a case officer would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cases import services
from cases.choices import DatePrecision
from cases.models import Case
from cases.notifications.models import Notification
from cases.places import services as places
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Ri (depending on North Korea) captured into Camp 1 on 9 January 2025."""
    kp = f.party("North Korea", country="KP")
    ukraine = f.party("Ukraine", country="UA")
    case = f.case(person_obj=f.person("Ri", power_depends_on=kp), detaining_party=ukraine)
    camp = places.place_create(actor=f.SYSTEM, name="Camp 1", kind="camp", detaining_party=ukraine)
    other = places.place_create(actor=f.SYSTEM, name="Camp 2", kind="camp", detaining_party=ukraine)
    capture = places.movement_record(
        actor=f.SYSTEM, case=case, to_place=camp, moved_on=dt.date(2025, 1, 9), kind="capture"
    )
    return {"case": case, "camp": camp, "other": other, "capture": capture}


def test_a_transfer_known_to_the_month_owes_its_notification_a_week_after_the_month(world):
    """A transfer "in February 2025" may have been on the 28th: like its capture card, its
    notification is surely late only a week after that, not from 8 February on.
    """
    places.movement_record(
        actor=f.SYSTEM,
        case=world["case"],
        from_place=world["camp"],
        to_place=world["other"],
        moved_on=dt.date(2025, 2, 1),
        moved_on_precision=DatePrecision.MONTH,
        kind="transfer",
    )
    case = Case.objects.get(pk=world["case"].pk)
    assert case.capture_card_due_on == dt.date(2025, 3, 7)
    [notification] = Notification.objects.filter(case=case, reason="transfer")
    assert notification.due_on >= dt.date(2025, 3, 7), (
        f"due {notification.due_on}: overdue on 9 February for a move that may have been on "
        "the 28th"
    )


def test_a_card_dated_before_the_move_it_answers_is_refused(world):
    """A card for the transfer of 1 February cannot have been filled in and sent to the
    Central Agency in January; taken as given, it stops the clock and hides a missed card.
    """
    transfer = places.movement_record(
        actor=f.SYSTEM,
        case=world["case"],
        from_place=world["camp"],
        to_place=world["other"],
        moved_on=dt.date(2025, 2, 1),
        kind="transfer",
    )
    with pytest.raises(ValidationError):
        places.capture_card_record(
            actor=f.SYSTEM,
            movement=transfer,
            filled_in_on=dt.date(2025, 1, 10),
            sent_to_agency_on=dt.date(2025, 1, 11),
        )
    assert Case.objects.get(pk=world["case"].pk).capture_card_due_on == dt.date(2025, 2, 8)


def test_a_capture_notification_known_to_the_month_is_due_a_week_after_the_month():
    """A case captured "in January 2025" owes its capture notification by 7 February, not
    by 8 January (the capture may have been on the 31st)."""
    kp = f.party("North Korea", country="KP")
    case = services.case_open(
        actor=f.SYSTEM,
        person=f.person("Baek", power_depends_on=kp),
        detaining_party=f.party("Ukraine", country="UA"),
        reference="UA-2025-0009",
        capture_date=dt.date(2025, 1, 1),
        capture_date_precision=DatePrecision.MONTH,
    )
    [notification] = Notification.objects.filter(case=case, reason="capture")
    assert notification.due_on >= dt.date(2025, 2, 7), notification.due_on
