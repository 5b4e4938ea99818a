"""A merge keeps one person, moves everything to him, and an undo moves exactly that back."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cases import selectors
from cases.duplicates import moves
from cases.duplicates.models import PersonMerge
from cases.duplicates.services import person_merge, person_unmerge
from cases.models import Case, Person, PersonName, TimelineEvent
from cases.pages import charts
from cases.services import NameSpec, StaleObjectError, person_update
from tests import factories as f
from tests.support import timeline
from tests.support.timeline import ref

pytestmark = pytest.mark.django_db


def _names(person) -> list[str]:
    return sorted(person.names.values_list("value", flat=True))


@pytest.fixture
def pair():
    """Ri with one case, and a second Lee entered later with a case and an overlapping name."""
    ri = f.person("Ri", names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin")])
    lee = f.person("Lee", names=[NameSpec("Lee", "latin"), NameSpec("Yi", "latin")])
    ri_case = f.case(reference="UA-2025-0001", person_obj=ri)
    lee_case = f.case(reference="UA-2025-0002", person_obj=lee)
    return ri, lee, ri_case, lee_case


def _state():
    """Return what a merge and its undo must leave consistent: counts, timelines, feed."""
    persons = Person.objects.filter(merged_into__isnull=True, archived_at__isnull=True)
    return {
        "persons": persons.count(),
        "cases_per_person": {
            p.working_name: sorted(p.cases.values_list("reference", flat=True)) for p in persons
        },
        "names": {p.working_name: _names(p) for p in persons},
        "case_timelines": {
            c.reference: list(selectors.case_timeline(c).values_list("id", flat=True))
            for c in Case.objects.all()
        },
        "status_counts": [
            (b.label, b.count) for b in charts.cases_by_status(Case.objects.all()).bars
        ],
    }


def test_merge_moves_cases_and_names_and_leaves_a_tombstone(pair):
    """The cases and names move; a shared name is kept once; one person.merged event."""
    ri, lee, ri_case, lee_case = pair
    with timeline.assert_one_event(kind="person.merged", actor=None, case=None) as new:
        merge = person_merge(
            actor=f.SYSTEM,
            duplicate=lee,
            survivor=ri,
            reason="Same soldier, entered twice",
            expected_version=lee.version,
            survivor_version=ri.version,
        )
    lee.refresh_from_db()
    ri.refresh_from_db()
    assert lee.merged_into == ri and lee.merged_at is not None
    assert list(lee.cases.all()) == [] and _names(lee) == []
    assert sorted(ri.cases.values_list("reference", flat=True)) == ["UA-2025-0001", "UA-2025-0002"]
    assert _names(ri) == ["Lee", "Yi", "리"]
    assert (lee.version, ri.version) == (2, 2)
    assert merge.moved == {
        "cases.case.person": [lee_case.pk],
        "cases.personname.person": [["Yi", False]],
    }
    assert merge.dropped_names == [
        {"value": "Lee", "script": "latin", "romanisation": "", "is_pseudonym": False}
    ]
    event = new.event
    assert event.person_id == ri.pk and event.subject_uuid == ri.uuid
    assert event.changes == {
        "merged_from": [None, ref(lee)],
        "cases": [None, [ref(lee_case)]],
        "rows": [None, []],
        "moved": [None, {"cases.case.person": 1}],
    }
    assert event.reason == "Same soldier, entered twice"
    assert event.object["uuid"] == str(ri.uuid) and event.object["version"] == 2


def test_undo_moves_back_exactly_what_moved(pair):
    """Undo restores the tombstone, its cases and names (the removed one too): its event on
    him, and one on the survivor, whose name variants changed."""
    ri, lee, ri_case, lee_case = pair
    before = _state()
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same")
    after_merge = _state()
    assert after_merge["persons"] == before["persons"] - 1
    assert after_merge["case_timelines"] == before["case_timelines"]
    assert after_merge["status_counts"] == before["status_counts"]
    # A case opened for the survivor after the merge stays his.
    f.case(reference="UA-2025-0003", person_obj=ri)
    lee.refresh_from_db()
    last = TimelineEvent.objects.order_by("-id").first().id
    version = Person.objects.get(pk=ri.pk).version
    merge = person_unmerge(
        actor=f.SYSTEM, person=lee, reason="Two brothers", expected_version=lee.version
    )
    unmerged, updated = TimelineEvent.objects.filter(id__gt=last).order_by("id")
    lee.refresh_from_db()
    ri.refresh_from_db()
    assert (unmerged.kind, unmerged.case_id) == ("person.unmerged", None)
    assert (updated.kind, updated.subject_uuid, updated.case_id) == (
        "person.updated",
        ri.uuid,
        None,
    )
    assert sorted(n["value"] for n in updated.changes["names"][1]) == ["Lee", "리"]
    assert ri.version == version + 1 and updated.subject_version == ri.version
    assert lee.merged_into is None and lee.merged_at is None
    assert merge.undone_at is not None and merge.undo_reason == "Two brothers"
    assert list(lee.cases.values_list("reference", flat=True)) == ["UA-2025-0002"]
    assert sorted(ri.cases.values_list("reference", flat=True)) == ["UA-2025-0001", "UA-2025-0003"]
    assert _names(lee) == ["Lee", "Yi"] and _names(ri) == ["Lee", "리"]
    assert unmerged.person_id == lee.pk
    assert unmerged.changes["merged_into"] == [ref(ri), None]
    assert unmerged.changes["moved"] == [None, {"cases.case.person": 1}]
    state = _state()
    assert state["persons"] == before["persons"]
    assert state["names"] == before["names"]
    assert state["cases_per_person"]["Lee"] == before["cases_per_person"]["Lee"]


def test_undo_after_the_survivor_was_renamed_still_moves_names_back(pair):
    """Renaming writes the variants anew; the undo finds the moved ones by value."""
    ri, lee, *_ = pair
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same")
    ri.refresh_from_db()
    person_update(
        actor=f.SYSTEM,
        person=ri,
        names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin"), NameSpec("Yi", "latin")],
        unit="11th corps",
    )
    lee.refresh_from_db()
    person_unmerge(actor=f.SYSTEM, person=lee, reason="wrong")
    assert _names(lee) == ["Lee", "Yi"]
    assert _names(Person.objects.get(pk=ri.pk)) == ["Lee", "리"]


def test_stale_versions_and_bad_merges_write_nothing(pair):
    """A stale version, a merge into himself, a second merge: refused, nothing written."""
    ri, lee, *_ = pair
    with timeline.assert_no_event():
        with pytest.raises(StaleObjectError):
            person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="x", survivor_version=9)
        with pytest.raises(ValidationError):
            person_merge(actor=f.SYSTEM, duplicate=lee, survivor=lee, reason="x")
        with pytest.raises(ValidationError):
            person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason=" ")
        with pytest.raises(ValidationError):
            person_unmerge(actor=f.SYSTEM, person=lee, reason="not merged")
    assert not PersonMerge.objects.exists()
    assert Person.objects.get(pk=lee.pk).cases.count() == 1
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same")
    lee.refresh_from_db()
    kim = f.person("Kim", names=[])
    with timeline.assert_no_event(), pytest.raises(ValidationError):
        person_merge(actor=f.SYSTEM, duplicate=kim, survivor=lee, reason="into a tombstone")


def test_every_reverse_relation_of_person_is_handled():
    """Each relation pointing at Person is moved, handled or kept with a reason.

    A model added later with a foreign key to Person is moved generically: this test lists
    the relations known today, so a new one shows up here to be looked at.
    """
    plan = moves.plan()
    assert set(plan) == {moves.relation_key(r) for r in moves.person_relations()}
    for key, how in plan.items():
        assert how in {"moved", "handler", "kept"}, key
        if how == "kept":
            assert moves.KEPT[key]
    assert {k for k, how in plan.items() if how == "kept"} == set(moves.KEPT)
    known = {
        "cases.case.person": "moved",
        "cases.personname.person": "handler",
        "cases.timelineevent.person": "kept",
        "cases.person.merged_into": "kept",
        "cases.personmerge.survivor": "kept",
        "cases.personmerge.merged": "kept",
    }
    unknown = {k: v for k, v in plan.items() if k not in known}
    # Relations added by other models are moved by the generic mover (or listed above).
    assert all(v == "moved" for v in unknown.values()), unknown


def test_after_a_merge_no_moved_relation_points_at_the_tombstone(pair):
    """Every relation that is not kept has no row left on the tombstone."""
    ri, lee, *_ = pair
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same")
    for relation in moves.person_relations():
        key = moves.relation_key(relation)
        if key in moves.KEPT:
            continue
        model, field = moves.relation_target(relation)
        assert not model._base_manager.filter(**{field.name: lee}).exists(), key


def test_a_unique_rule_the_move_would_break_is_explained():
    """The generic mover names a unique rule both persons' rows would break (here names)."""
    ri = f.person("Ri", names=[NameSpec("Lee", "latin")])
    lee = f.person("Lee", names=[NameSpec("Lee", "latin")])
    relation = next(
        r for r in moves.person_relations() if moves.relation_key(r) == "cases.personname.person"
    )
    problems = moves.conflicts(relation, lee, ri)
    assert len(problems) == 1 and "same value Lee" in problems[0]
    assert "merge again" in problems[0]
    assert PersonName.objects.count() == 2


def test_the_feed_carries_merge_and_undo(pair):
    """A mirror reading the feed sees person.merged then person.unmerged with both ids."""
    ri, lee, *_ = pair
    last = TimelineEvent.objects.order_by("-id").first().id
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same")
    lee.refresh_from_db()
    person_unmerge(actor=f.SYSTEM, person=lee, reason="wrong")
    kinds = list(
        TimelineEvent.objects.filter(id__gt=last).order_by("id").values_list("kind", "subject_uuid")
    )
    assert kinds == [
        ("person.merged", ri.uuid),
        ("person.unmerged", lee.uuid),
        ("person.updated", ri.uuid),  # his name variants went back to Lee
    ]
