"""Merges and their undo, tried as a case officer and an integrator mirroring the feed would."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cases.duplicates.services import person_merge, person_unmerge
from cases.models import Case, Person, TimelineEvent
from cases.services import NameSpec
from tests import factories as f

pytestmark = pytest.mark.django_db


def _names(person) -> list[str]:
    return sorted(Person.objects.get(pk=person.pk).names.values_list("value", flat=True))


def _fresh(person) -> Person:
    return Person.objects.get(pk=person.pk)


def test_undo_after_the_survivor_was_merged_on_brings_back_the_cases_it_names():
    """Ri was merged into Lee, then Lee into Yi; undoing Ri's merge must not tell the feed
    that his case moved back to him while it stays with Yi.

    Either the undo is refused (undo Lee's merge first) or Ri's case comes back to Ri; in
    both cases every case the ``person.unmerged`` event names belongs to the restored person.
    """
    ri, lee, yi = f.person("Ri", names=[]), f.person("Lee", names=[]), f.person("Yi", names=[])
    ri_case = f.case(reference="UA-2025-0001", person_obj=ri)
    person_merge(actor=f.SYSTEM, duplicate=ri, survivor=lee, reason="same")
    person_merge(actor=f.SYSTEM, duplicate=_fresh(lee), survivor=yi, reason="same again")
    try:
        person_unmerge(actor=f.SYSTEM, person=_fresh(ri), reason="brothers")
    except ValidationError:
        return  # refused: safe, the merge of Lee must be undone first
    event = TimelineEvent.objects.filter(kind="person.unmerged").get()
    named = [ref["uuid"] for ref in event.changes["cases"][1]]
    assert named == [str(ri_case.uuid)]
    assert Case.objects.get(pk=ri_case.pk).person_id == ri.pk, (
        "the feed says UA-2025-0001 moved back to Ri, but it stays with Yi, and Ri is listed "
        "again with no case"
    )


def test_undoing_one_merge_keeps_a_spelling_another_merge_still_relies_on():
    """Ri (Yi) and Paek-Ri (Yi) were both merged into Lee; Paek-Ri's "Yi" was dropped as one
    Lee already had (from Ri). Undoing Ri's merge takes "Yi" back to Ri, and Lee, who still
    stands for Paek-Ri, must keep a "Yi": else no search for Yi finds the man merged into him.
    """
    lee = f.person("Lee", names=[NameSpec("Lee", "latin")])
    ri = f.person("Ri", names=[NameSpec("Yi", "latin")])
    other = f.person("Ri2", names=[NameSpec("Yi", "latin")])
    person_merge(actor=f.SYSTEM, duplicate=ri, survivor=lee, reason="same")
    person_merge(actor=f.SYSTEM, duplicate=other, survivor=_fresh(lee), reason="same")
    assert _names(lee) == ["Lee", "Yi"]
    person_unmerge(actor=f.SYSTEM, person=_fresh(ri), reason="not him")
    assert _names(ri) == ["Yi"]
    assert "Yi" in _names(lee), "Lee lost the spelling Yi that the merge of Ri2 brought"


def test_a_merge_recorded_with_plain_name_values_is_undone_too():
    """Merges recorded before a spelling could be both a true name and a pseudonym kept the
    moved names as plain values; their undo still brings the names back."""
    from cases.duplicates.models import PersonMerge

    lee = f.person("Lee", names=[NameSpec("Lee", "latin")])
    ri = f.person("Ri", names=[NameSpec("Yi", "latin"), NameSpec("리", "hangul")])
    merge = person_merge(actor=f.SYSTEM, duplicate=ri, survivor=lee, reason="same")
    PersonMerge.objects.filter(pk=merge.pk).update(
        moved={**merge.moved, "cases.personname.person": ["Yi", "리"]}
    )
    person_unmerge(actor=f.SYSTEM, person=_fresh(ri), reason="not him")
    assert _names(ri) == ["Yi", "리"]
    assert _names(lee) == ["Lee"]
