"""Name search across scripts and romanisations: the spellings a query expands to."""

import pytest

from cases.filters import CaseFilterSet
from cases.models import Case
from cases.names import normalise_name, romanise_hangul, search_variants
from cases.services import NameSpec
from tests import factories


def test_normalise_name_folds_case_accents_and_separators():
    """Case, diacritics, spaces and hyphens do not matter; Hangul stays whole."""
    assert normalise_name("Rhée Yong-Un") == "rheeyongun"
    assert normalise_name(" 리 영 ") == "리영"


def test_empty_query_has_no_variants():
    assert search_variants("  ") == set()


@pytest.mark.parametrize("query", ["리", "이", "Ri", "Lee", "Yi", "Rhee", "Ли"])
def test_ri_spellings_find_each_other(query):
    """Every spelling of the surname 리/이 expands to all the others."""
    variants = search_variants(query)
    assert {"리", "이", "ri", "lee", "yi", "rhee"} <= variants


@pytest.mark.parametrize("query", ["백", "Baek", "Paek", "Paik"])
def test_baek_spellings_find_each_other(query):
    assert {"백", "baek", "paek", "paik"} <= search_variants(query)


@pytest.mark.parametrize(
    ("hangul", "latin"),
    [("김", {"kim", "gim"}), ("박", {"park", "pak", "bak"}), ("최", {"choe", "choi"})],
)
def test_common_surnames_cross_scripts(hangul, latin):
    """Hangul finds the Latin spellings, and each Latin spelling finds the Hangul."""
    assert latin <= search_variants(hangul)
    for spelling in latin:
        assert hangul in search_variants(spelling)


def test_hangul_full_name_is_romanised_in_both_common_styles():
    """김정은 finds the Revised spelling and the press spelling Kim Jong Un."""
    variants = search_variants("김정은")
    assert {"gimjeongeun", "kimjongun"} <= variants
    assert romanise_hangul("정은") == {"jeongeun", "jongun"}


def test_latin_full_name_varies_the_surname():
    """'Ri Yong' also finds 'Lee Yong' and 'Yi Yong', and nothing mixes scripts."""
    variants = search_variants("Ri Yong")
    assert {"riyong", "leeyong", "yiyong"} <= variants
    assert all(v.isascii() or not any(c.isascii() for c in v) for v in variants)


def test_cyrillic_and_latin_transliterate():
    """Иванов finds Ivanov and the reverse."""
    assert "ivanov" in search_variants("Иванов")
    assert "иванов" in search_variants("Ivanov")


def test_single_letter_romanisations_are_left_out():
    """The romanisation "i" of 이 would match nearly every name as a substring."""
    assert "i" not in search_variants("이")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["리", "Ri", "Lee", "Yi", "Rhee", "이"])
def test_case_filter_finds_ri_by_any_spelling(query):
    """The shared FilterSet finds the case whatever spelling the analyst types."""
    ri = factories.person("Ri", names=[NameSpec("Lee", "latin", "conventional")])
    baek = factories.person("Baek", names=[NameSpec("백", "hangul"), NameSpec("Paek", "latin")])
    ri_case = factories.case(person_obj=ri)
    factories.case(person_obj=baek)
    found = CaseFilterSet({"q": query}, queryset=Case.objects.all()).qs
    assert list(found) == [ri_case]


@pytest.mark.django_db
def test_case_filter_finds_latin_spelling_from_hangul():
    """Typing 백 finds a person recorded only as 'Paik'."""
    baek = factories.person("B.", names=[NameSpec("Paik", "latin", "press")])
    baek_case = factories.case(person_obj=baek)
    factories.case()
    assert list(CaseFilterSet({"q": "백"}, queryset=Case.objects.all()).qs) == [baek_case]
