"""The visits' services: the rows, and the one event each appends, in one transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cases.models import Interview, TimelineEvent, Visit
from cases.visits import services
from tests import factories as f
from tests.support import timeline
from tests.visits.conftest import DAY

pytestmark = pytest.mark.django_db


def test_visit_record_writes_the_visit_and_one_event_of_no_case(icrc, ukraine):
    """``visit.recorded``: no case (a visit concerns a place), dated the day of the visit."""
    with timeline.assert_one_event(kind="visit.recorded", case=None) as new:
        visit = services.visit_record(
            actor=f.SYSTEM,
            visiting_body=icrc,
            visited_on=DAY,
            detaining_party=ukraine,
            place_text="Camp 1",
            topics="Mail from home",
        )
    row = Visit.objects.get(pk=visit.pk)
    assert (row.visiting_body, row.detaining_party, row.visited_on, row.topics, row.version) == (
        icrc,
        ukraine,
        DAY,
        "Mail from home",
        1,
    )
    event = new.event
    assert event.subject_uuid == visit.uuid and event.subject_type == "visit"
    assert event.occurred_at.date() == DAY
    assert event.changes["topics"] == [None, "Mail from home"]
    assert event.changes["visiting_body"][1]["uuid"] == str(icrc.uuid)
    assert (
        event.summary == "Visit by International Committee of the Red Cross to Camp 1 (2025-03-01)"
    )


def test_interview_record_appends_its_event_on_the_case_of_the_person_seen(ri, icrc, ukraine):
    """``interview.recorded`` is on Ri's timeline; the visit's version is untouched."""
    visit = f.visit(visiting_body=icrc, visited_on=DAY, detaining_party=ukraine)
    with timeline.assert_one_event(kind="interview.recorded", case=ri) as new:
        interview = services.interview_record(
            actor=f.SYSTEM, visit=visit, case=ri, in_private=True, topics="His jaw"
        )
    row = Interview.objects.get(pk=interview.pk)
    assert (row.visit, row.case, row.in_private, row.topics) == (visit, ri, True, "His jaw")
    assert new.event.subject_type == "interview" and new.event.subject_uuid == interview.uuid
    assert new.event.changes["in_private"] == [None, True]
    assert new.event.summary.startswith("Seen in private by International Committee")


def test_visit_record_with_the_persons_seen_appends_one_event_per_case(icrc, ukraine, ri):
    """One ``visit.recorded``, then one ``interview.recorded`` on each case seen."""
    baek = f.case(reference="UA-2025-0002", person_obj=f.person("Baek"), detaining_party=ukraine)
    last = TimelineEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    visit = services.visit_record(
        actor=f.SYSTEM,
        visiting_body=icrc,
        visited_on=DAY,
        detaining_party=ukraine,
        interviews=[{"case": ri, "in_private": True}, {"case": baek, "in_private": False}],
    )
    events = timeline.events_after(last)
    assert [(e.kind, e.case_id) for e in events] == [
        ("visit.recorded", None),
        ("interview.recorded", ri.pk),
        ("interview.recorded", baek.pk),
    ]
    assert visit.interviews.count() == 2


def test_a_refused_interview_leaves_neither_the_visit_nor_any_event(icrc, ukraine):
    """A person held by another party cannot be seen in this visit: nothing is written."""
    elsewhere = f.case(person_obj=f.person("Ivanov"), detaining_party=f.party("Russia"))
    with timeline.assert_no_event(), pytest.raises(ValidationError, match="is held by"):
        services.visit_record(
            actor=f.SYSTEM,
            visiting_body=icrc,
            visited_on=DAY,
            detaining_party=ukraine,
            interviews=[{"case": elsewhere, "in_private": True}],
        )
    assert not Visit.objects.exists() and not Interview.objects.exists()


def test_a_person_is_seen_once_per_visit(seen):
    """A second interview of the same case in the same visit is refused, with no event."""
    with timeline.assert_no_event(), pytest.raises(ValidationError, match="already recorded"):
        services.interview_record(actor=f.SYSTEM, visit=seen.visit, case=seen.case)


def test_a_visit_is_recorded_once_it_happened_and_not_by_its_own_detaining_party(ukraine, icrc):
    """A day to come is refused; so is the detaining party visiting its own places."""
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with timeline.assert_no_event():
        with pytest.raises(ValidationError, match="in the future"):
            services.visit_record(
                actor=f.SYSTEM, visiting_body=icrc, visited_on=tomorrow, detaining_party=ukraine
            )
        with pytest.raises(ValidationError, match="own places"):
            services.visit_record(
                actor=f.SYSTEM, visiting_body=ukraine, visited_on=DAY, detaining_party=ukraine
            )


def test_visit_update_appends_one_event_and_nothing_when_nothing_changed(icrc, ukraine):
    """``visit.updated`` names what changed; the same values again write nothing."""
    visit = f.visit(visiting_body=icrc, visited_on=DAY, detaining_party=ukraine)
    with timeline.assert_one_event(kind="visit.updated", changes={"notes": ["", "Two delegates"]}):
        visit = services.visit_update(
            actor=f.SYSTEM, visit=visit, expected_version=1, notes="Two delegates"
        )
    assert Visit.objects.get(pk=visit.pk).version == 2
    with timeline.assert_no_event():
        services.visit_update(actor=f.SYSTEM, visit=visit, notes="Two delegates")


def test_who_and_when_stay_once_a_statement_rests_on_the_visit(ri, seen):
    """A statement's level was earned on the visit's body and day: they cannot change then,
    while its notes still can."""
    f.verified_wish(ri, "third_state", "KR", stated_on=DAY, interview=seen)
    with timeline.assert_no_event(), pytest.raises(ValidationError, match="record a new visit"):
        services.visit_update(actor=f.SYSTEM, visit=seen.visit, visited_on=DAY.replace(day=2))
    with timeline.assert_one_event(kind="visit.updated"):
        services.visit_update(actor=f.SYSTEM, visit=seen.visit, notes="Seen in the yard")
