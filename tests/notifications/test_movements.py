"""A transfer between places owes the notifications of GC III Art. 122, opened with the move."""

from __future__ import annotations

import datetime as dt

import pytest

from cases import services
from cases.notifications.models import Notification
from cases.places import services as places
from tests import factories as f
from tests.support import timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Ri (depending on North Korea) captured into a camp; the ICRC is the tracing agency."""
    kp = f.party("North Korea", country="KP")
    icrc = services.party_update(actor=f.SYSTEM, party=f.neutral_party(), short_name="ICRC")
    ukraine = f.party("Ukraine", country="UA")
    case = f.case(person_obj=f.person("Ri", power_depends_on=kp), detaining_party=ukraine)
    camp = places.place_create(actor=f.SYSTEM, name="Camp 1", kind="camp", detaining_party=ukraine)
    other = places.place_create(actor=f.SYSTEM, name="Camp 2", kind="camp", detaining_party=ukraine)
    places.movement_record(
        actor=f.SYSTEM, case=case, to_place=camp, moved_on=dt.date(2025, 1, 9), kind="capture"
    )
    return {"case": case, "camp": camp, "other": other, "kp": kp, "icrc": icrc}


def test_a_transfer_opens_one_pending_notification_per_recipient_in_its_own_event(world):
    """The movement's event lists the rows it opened; they are due a week after the move."""
    case = world["case"]
    before = Notification.objects.count()
    with timeline.assert_one_event(kind="movement.recorded") as new:
        places.movement_record(
            actor=f.SYSTEM,
            case=case,
            from_place=world["camp"],
            to_place=world["other"],
            moved_on=dt.date(2025, 2, 1),
            kind="transfer",
        )
    rows = list(Notification.objects.filter(event_uuid=new.event.uuid).order_by("recipient__name"))
    assert Notification.objects.count() == before + 2
    assert [(r.recipient, r.reason, r.state, r.due_on) for r in rows] == [
        (world["icrc"], "transfer", "pending", dt.date(2025, 2, 8)),
        (world["kp"], "transfer", "pending", dt.date(2025, 2, 8)),
    ]
    assert sorted(ref["uuid"] for ref in new.event.changes["notifications"][1]) == sorted(
        str(r.uuid) for r in rows
    )


@pytest.mark.parametrize("kind", ["capture", "hospital_admission", "discharge", "other"])
def test_other_movements_open_no_notification(world, kind):
    """A capture was owed at the case's opening, an admission by the status ``hospitalised``."""
    before = Notification.objects.count()
    with timeline.assert_one_event(kind="movement.recorded") as new:
        places.movement_record(
            actor=f.SYSTEM,
            case=world["case"],
            from_place=world["camp"],
            to_place=world["other"],
            moved_on=dt.date(2025, 2, 1),
            kind=kind,
        )
    assert Notification.objects.count() == before
    assert "notifications" not in new.event.changes
