"""Likely duplicates are found across scripts and spellings, scored with reasons, blocked."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.duplicates import detection
from cases.duplicates.detection import Candidate, find_duplicates
from cases.identity import services as identity
from cases.models import TimelineEvent
from cases.services import NameSpec
from tests import factories as f
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db


def _found(candidate, user=None):
    return {m.person.working_name: m for m in find_duplicates(candidate, user=user)}


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Lee", "Ri"),
        ("Ri", "Lee"),
        ("Ri", "리"),
        ("Lee", "Ли"),
        ("리", "Yi"),
        ("Paek", "Baek"),
        ("Baek", "백"),
        ("백", "Paik"),
        ("Paek Yong Won", "Baek Yong-won"),
    ],
)
def test_spellings_of_one_name_across_scripts_are_found(stored, typed):
    """A person stored under one spelling is found when another spelling is typed."""
    f.person(stored, names=[])
    found = _found(Candidate(working_name=typed))
    assert stored in found, found
    match = found[stored]
    assert match.score >= detection.THRESHOLD
    assert [r.code for r in match.reasons] == ["name"]
    assert typed in match.reasons[0].detail and stored in match.reasons[0].detail


def test_name_variants_are_found_too():
    """A name variant (not only the working name) is a spelling to match."""
    f.person("Prisoner A", names=[NameSpec("Paek", "latin", is_pseudonym=True)])
    assert "Prisoner A" in _found(Candidate(working_name="백"))


@pytest.mark.parametrize(
    ("stored", "typed"),
    [("Kim", "Ri"), ("Lee", "Leeds"), ("Dmitriy", "Ri"), ("Paek", "Park"), ("Chornyi", "Yi")],
)
def test_unrelated_names_are_not_found(stored, typed):
    """Different names are not offered, even when one is inside the other."""
    f.person(stored, names=[])
    assert stored not in _found(Candidate(working_name=typed))


def test_near_spelling_scores_with_rapidfuzz():
    """A near spelling of a long name scores below a known spelling, with its ratio."""
    f.person("Paek Yongwan", names=[], birth_date=dt.date(2001, 5, 2))
    found = _found(Candidate(working_name="Paek Yongwon", birth_date=dt.date(2001, 5, 2)))
    match = found["Paek Yongwan"]
    codes = [r.code for r in match.reasons]
    assert codes == ["name", "birth_date"]
    assert "Similar name" in match.reasons[0].detail
    assert 0.5 < match.score < 0.85


def test_birth_date_respects_precision():
    """A birth year matches a day in that year; two different known days count against."""
    f.person("Ri", names=[], birth_date=dt.date(1999, 1, 1), birth_date_precision="year")
    f.person("Lee", names=[], birth_date=dt.date(1998, 3, 4))
    found = _found(Candidate(working_name="Yi", birth_date=dt.date(1999, 7, 8)))
    assert [r.code for r in found["Ri"].reasons] == ["name", "birth_date"]
    assert found["Ri"].reasons[1].detail == "Same birth year: 1999"
    assert found["Ri"].score == pytest.approx(0.7)
    # Lee: a known day that differs counts against (0.6 - 0.3), below the threshold.
    assert "Lee" not in found


def test_unit_and_service_number_are_reasons():
    """The same unit and service number add to the score, with their reasons."""
    f.person("Baek", names=[], unit="11th Corps", service_number="KPA-123 456")
    match = _found(Candidate(working_name="Paek", unit="11th corps", service_number="kpa123456"))[
        "Baek"
    ]
    assert [r.code for r in match.reasons] == ["name", "unit", "service_number"]
    assert match.score == 1.0


def test_service_number_alone_blocks_and_is_enough():
    """A person with another name but the same service number is offered (blocking by it)."""
    f.person("Prisoner 7", names=[], service_number="55-1234")
    match = _found(Candidate(working_name="Kim Chol", service_number="55-1234"))["Prisoner 7"]
    assert [r.code for r in match.reasons] == ["service_number"]


def test_a_reader_learns_no_hidden_name_or_sensitive_value():
    """Without view_sensitive, hidden name variants and service numbers neither match nor
    show; with it, they do."""
    f.person("Prisoner B", names=[NameSpec("Paek", "latin")], service_number="55-9")
    analyst = user_in_role(ANALYST)
    officer = user_in_role(CASE_OFFICER)
    candidate = Candidate(working_name="Baek", service_number="55-9")
    assert _found(candidate, user=analyst) == {}
    match = _found(candidate, user=officer)["Prisoner B"]
    assert [r.code for r in match.reasons] == ["name", "service_number"]
    assert "Paek" in match.reasons[0].detail


def test_archived_and_merged_persons_are_not_candidates():
    """Archived persons and tombstones are left out."""
    from cases.duplicates.services import person_merge
    from cases.services import person_archive

    archived = f.person("Lee", names=[])
    person_archive(actor=f.SYSTEM, person=archived, reason="test")
    kept, merged = f.person("Ri", names=[]), f.person("Yi", names=[])
    person_merge(actor=f.SYSTEM, duplicate=merged, survivor=kept, reason="same man")
    assert set(_found(Candidate(working_name="리"))) == {"Ri"}


def test_a_person_is_not_his_own_duplicate():
    """The person being edited is left out."""
    ri = f.person("Ri", names=[])
    assert _found(Candidate.of_person(ri)) == {}


def test_the_check_writes_nothing(django_assert_num_queries):
    """A check reads its blocking lookups in one statement, then the persons found and their
    names, and writes nothing."""
    f.person("Ri", names=[NameSpec("Lee", "latin")])
    before = TimelineEvent.objects.count()
    with django_assert_num_queries(3) as captured:
        find_duplicates(Candidate(working_name="Lee", birth_date=dt.date(2000, 1, 1)))
    assert not [q for q in captured.captured_queries if not q["sql"].startswith("SELECT")]
    assert TimelineEvent.objects.count() == before


@pytest.mark.parametrize("persons", [1, 12])
def test_a_check_costs_the_same_queries_however_many_are_found(persons, django_assert_num_queries):
    """Every lookup (names, working names, birth day, service number, document number) is
    one statement; then the persons, their names and their documents: four queries whether
    one person or twelve are found, and one when nobody is."""
    born = dt.date(1990, 5, 6)
    for i in range(persons):
        person = f.person(
            f"Paek {i}", names=[NameSpec("Baek", "latin")], birth_date=born, service_number="SN-1"
        )
        identity.identity_document_record(
            actor=f.SYSTEM,
            person=person,
            kind="military_id",
            issuer_country="RU",
            number=f"D-{i}",
        )
    candidate = Candidate(
        working_name="Paek",
        names=["백"],
        birth_date=born,
        unit="",
        service_number="SN-1",
        document_numbers=["D-0"],
    )
    with django_assert_num_queries(4):
        found = find_duplicates(candidate)
    assert len(found) == min(persons, detection.MAX_RESULTS)
    assert {r.code for r in found[0].reasons} >= {"name", "birth_date", "service_number"}
    with django_assert_num_queries(1):
        assert find_duplicates(Candidate(working_name="Zzyzx Qwv")) == []


def test_reasons_are_a_registry_with_a_place_for_documents():
    """Reasons are registered by code; identity documents have theirs (sensitive)."""
    codes = {r.code: r.sensitive for r in detection.REASONS}
    assert codes == {
        "name": False,
        "birth_date": False,
        "unit": False,
        "service_number": True,
        "identity_document": True,
    }
